package io.mpqemu.controlplane.store;

import io.mpqemu.v1.VmEvent;
import java.util.List;
import java.util.Optional;

/**
 * The control plane's durable state. Every method blocks, and an implementation need not be
 * thread-safe: the control plane calls it from one thread at a time, in order. A change is
 * acknowledged (commit returns) only once it is on disk.
 */
public interface Store extends AutoCloseable {

  /**
   * Applies a change in one transaction: VM writes and deletes, the request id mapping, and the
   * events, each given the next seq (gap-free, starting at 1). A VM written by the change with events
   * about it is stored with {@code status.last_event_seq} set to the seq of its last one, so the row and
   * the log agree. Returns the events with their seqs.
   *
   * @throws StoreException CONFLICT when an insert meets an existing id or name, a request id is
   *     already mapped, or an update carries a lower revision than the stored row (it was based on an
   *     older version: optimistic concurrency); nothing of the change is applied then
   */
  default List<VmEvent> commit(Change change) {
    return commitAll(List.of(change)).get(0).eventsOrThrow();
  }

  /**
   * Applies the changes, in order, in ONE transaction (one sync to disk), each in a savepoint of its
   * own: a change that {@link #commit} would refuse is rolled back alone and its result carries the
   * exception, while the others commit, numbered as if the refused one had never been tried. Returns
   * one result per change, in order, once the transaction is durable.
   *
   * @throws StoreException UNAVAILABLE when the transaction as a whole fails; then nothing is applied
   */
  List<Result> commitAll(List<Change> changes);

  /**
   * From now on every commit first checks, in its own transaction, that {@code holder} holds the leader's
   * lease in the epoch {@code epoch} answers (0 or less: it does not lead), and writes nothing otherwise
   * (UNAVAILABLE): a control plane that lost the lease cannot write late. A store that admits one control
   * plane only (SQLite) has no lease to check.
   */
  default void fenceWrites(String holder, java.util.function.LongSupplier epoch) {}

  Optional<StoredVm> vm(String id);

  Optional<StoredVm> vmByName(String name);

  /** The VM that a CreateVm with this request id created. */
  Optional<String> vmIdForRequest(String requestId);

  /** VMs matching the filter, ordered by id, with ids greater than {@code afterId} ("" for the start). */
  List<StoredVm> listVms(VmFilter filter, String afterId, int limit);

  /** Events with a seq greater than {@code afterSeq}, in seq order; only {@code vmId}'s when it is not empty. */
  List<io.mpqemu.v1.VmEvent> events(long afterSeq, String vmId, int limit);

  /** The seq of the last event, 0 when the log is empty. */
  long lastSeq();

  /** The seq of the oldest event kept, 0 when the log is empty (retention removes older ones). */
  long firstSeq();

  /**
   * Removes the events with a seq below {@code seq} (retention), in one transaction; the later ones keep
   * their seqs, so the log stays gap-free from its first kept event. Answers how many went.
   */
  int deleteEventsBefore(long seq);

  /** Inserts or replaces a node, durably. */
  void putNode(StoredNode node);

  List<StoredNode> nodes();

  /**
   * A store for reads only, on a connection of its own, that runs beside this one's writes and sees
   * what they committed; its commit and putNode throw. The caller closes it.
   */
  Store reader();

  @Override
  void close();

  /** What one change of {@link #commitAll} came to: its recorded events, or why it was refused. */
  record Result(List<VmEvent> events, RuntimeException failure) {

    public Result {
      events = events == null ? List.of() : List.copyOf(events);
    }

    static Result recorded(List<VmEvent> events) {
      return new Result(events, null);
    }

    static Result refused(RuntimeException failure) {
      return new Result(List.of(), failure);
    }

    /** The events, or the refusal thrown. */
    public List<VmEvent> eventsOrThrow() {
      if (failure != null) {
        throw failure;
      }
      return events;
    }
  }
}
