package io.mpqemu.controlplane.records;

import io.mpqemu.controlplane.events.EventLog;
import io.mpqemu.controlplane.store.Change;
import io.mpqemu.controlplane.store.StoreExecutor;
import io.mpqemu.controlplane.store.StoredVm;
import io.mpqemu.controlplane.store.VmFilter;
import io.mpqemu.errors.Failures;
import io.mpqemu.v1.EventType;
import io.mpqemu.v1.Phase;
import io.mpqemu.v1.VmEvent;
import io.mpqemu.wire.Timestamps;
import io.vertx.core.Future;
import java.time.Clock;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The write model: every VM as this control plane last wrote it, loaded from the store at start and
 * written through to it in order, with the indexes that keep placement and quotas linear (memory and
 * VM count per node and per owner). Intents and the reconciler read-modify-write VMs here, one at a
 * time on the control plane's event loop, so no write is based on a stale row; API reads go to the
 * store. With several control planes on one database only the leader writes, and it reloads this when
 * it is elected.
 */
public final class VmRecords {

  private static final Logger LOG = LoggerFactory.getLogger(VmRecords.class);
  private static final int LOAD_PAGE = 1000;

  private final StoreExecutor store;
  private final EventLog log;
  private final Clock clock;
  private final TreeMap<String, StoredVm> vms = new TreeMap<>();
  private VmIndexes indexes = new VmIndexes();
  /** VMs whose last write failed: this write model is ahead of the store for them until they are written again. */
  private final Set<String> unsaved = new HashSet<>();

  public VmRecords(StoreExecutor store, EventLog log, Clock clock) {
    this.store = store;
    this.log = log;
    this.clock = clock;
  }

  /** Loads every VM from the store, page by page. */
  public Future<Integer> load() {
    return store.read(st -> {
      List<StoredVm> all = new ArrayList<>();
      String after = "";
      while (true) {
        List<StoredVm> page = st.listVms(VmFilter.all(), after, LOAD_PAGE);
        all.addAll(page);
        if (page.size() < LOAD_PAGE) {
          return all;
        }
        after = page.get(page.size() - 1).id();
      }
    }).map(all -> {
      all.forEach(this::put);
      return all.size();
    });
  }

  /**
   * Forgets every VM and loads them all again: what a new leader does before it acts, since its copy
   * may be older than what the last leader wrote. Writes that failed meanwhile are forgotten too: the
   * store is the truth.
   */
  public Future<Integer> reload() {
    vms.clear();
    indexes = new VmIndexes();
    unsaved.clear();
    return load();
  }

  public Clock clock() {
    return clock;
  }

  public Optional<StoredVm> get(String id) {
    return Optional.ofNullable(vms.get(id));
  }

  public Optional<StoredVm> byName(String name) {
    String id = indexes.idOf(name);
    return id == null ? Optional.empty() : get(id);
  }

  /** The VMs whose status names {@code node}, in id order. */
  public List<StoredVm> onNode(String node) {
    return indexes.onNode(node).stream().map(vms::get).toList();
  }

  /** Ids of the VMs waiting to be placed: what a scheduling pass walks, not every VM. */
  public List<String> pending() {
    return indexes.pending();
  }

  public int count() {
    return vms.size();
  }

  /** What each node holds of VMs placed or active on it. */
  public Map<String, Usage> usageByNode() {
    return indexes.usageByNode();
  }

  /** What {@code owner} holds ("" holds nothing: VMs of no one count for no one). */
  public Usage usageOf(String owner) {
    return indexes.usageOf(owner);
  }

  public Map<Phase, Integer> countByPhase() {
    Map<Phase, Integer> counts = new TreeMap<>();
    for (StoredVm vm : vms.values()) {
      counts.merge(vm.status().getPhase(), 1, Integer::sum);
    }
    return counts;
  }

  /** Writes {@code next} and an event about it in one transaction; answers the VM as recorded. */
  public Future<StoredVm> update(StoredVm next, EventType type, String reason, String message) {
    put(next);
    return commit(Change.builder().update(next).event(event(next, type, reason, message)).build())
        .map(events -> vms.getOrDefault(next.id(), next));
  }

  /**
   * Writes a new intent ({@code next}, built on {@code before}) and its event; when the store refuses or
   * fails, the write model goes back to {@code before}, so a request answered with an error changes nothing.
   */
  public Future<StoredVm> replace(StoredVm before, StoredVm next, EventType type, String reason, String message) {
    return update(next, type, reason, message).onFailure(e -> {
      if (vms.get(next.id()) == next) {
        put(before);
        unsaved.remove(next.id());
      }
    });
  }

  /** Writes {@code next} without an event: figures and messages that say nothing new. */
  public Future<Void> write(StoredVm next) {
    put(next);
    return commit(Change.builder().update(next).build()).mapEmpty();
  }

  /**
   * Keeps {@code next} in memory only, not written: figures that move all the time (CPU seconds,
   * memory) ride along with the next change that is written.
   */
  public void refresh(StoredVm next) {
    put(next);
  }

  /** Inserts a new VM with its change; the caller holds its name and quota share meanwhile. */
  public Future<StoredVm> insert(StoredVm vm, Change change) {
    return store.commit(change).map(events -> {
      StoredVm stored = withLastSeq(vm, events);
      put(stored);
      log.published(events);
      return stored;
    });
  }

  /**
   * Forgets a VM and records its deletion (the change carries the delete and its event). It is forgotten
   * first, so that nothing arriving meanwhile (its node's last events) writes its row again; if the store
   * refuses the deletion, it is put back, and the delete can be retried.
   */
  public Future<Void> remove(StoredVm vm, Change change) {
    drop(vm);
    unsaved.remove(vm.id());
    return commit(change).<Void>mapEmpty().onFailure(e -> {
      if (!vms.containsKey(vm.id())) {
        put(vm);
      }
    });
  }

  /**
   * Writes again, in one change without events, every VM whose last write failed (the store was down):
   * readers of the store see what this control plane knows once the store is back. Called by each
   * reconciliation pass.
   */
  public void flushUnsaved() {
    if (unsaved.isEmpty()) {
      return;
    }
    Change.Builder change = Change.builder();
    for (String id : List.copyOf(unsaved)) {
      StoredVm vm = vms.get(id);
      if (vm != null) {
        change.update(vm);
      }
    }
    Set<String> flushing = Set.copyOf(unsaved);
    unsaved.clear();
    Change built = change.build();
    if (!built.updates().isEmpty()) {
      commit(built).onSuccess(v -> LOG.info("store: wrote {} VM(s) whose earlier write had failed", flushing.size()));
    }
  }

  /**
   * Commits in order; the events reach subscribers, and each VM's last event seq is kept. A failure is
   * logged here (the store's sentence) and passed on.
   */
  public Future<List<VmEvent>> commit(Change change) {
    return store.commit(change).map(events -> {
      for (VmEvent e : events) {
        StoredVm vm = vms.get(e.getVmId());
        if (vm != null) {
          put(withLastSeq(vm, List.of(e)));
        }
      }
      log.published(events);
      return events;
    }).onFailure(e -> {
      LOG.error("cannot record a change: {}", Failures.describe(e));
      change.updates().forEach(vm -> unsaved.add(vm.id())); // written again by the next pass
    });
  }

  /** An event about {@code vm} as it is now, stamped with the clock. */
  public VmEvent event(StoredVm vm, EventType type, String reason, String message) {
    return VmEvent.newBuilder().setVmId(vm.id()).setVmName(vm.name()).setNode(vm.status().getNode()).setType(type)
        .setPhase(vm.status().getPhase()).setReason(reason).setMessage(message).setTime(Timestamps.of(clock.instant()))
        .build();
  }

  private void put(StoredVm vm) {
    StoredVm before = vms.put(vm.id(), vm);
    if (before != null) {
      indexes.remove(before);
    }
    indexes.add(vm);
  }

  private void drop(StoredVm vm) {
    StoredVm before = vms.remove(vm.id());
    if (before != null) {
      indexes.remove(before);
    }
  }

  private static StoredVm withLastSeq(StoredVm vm, List<VmEvent> events) {
    long seq = vm.status().getLastEventSeq();
    for (VmEvent e : events) {
      if (e.getVmId().equals(vm.id())) {
        seq = Math.max(seq, e.getSeq());
      }
    }
    return new StoredVm(vm.id(), vm.spec(), vm.desiredState(), vm.revision(),
        vm.status().toBuilder().setLastEventSeq(seq).build(), vm.createdAt(), vm.updatedAt(), vm.owner());
  }
}
