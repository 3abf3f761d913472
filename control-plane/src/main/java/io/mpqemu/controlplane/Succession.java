package io.mpqemu.controlplane;

import io.mpqemu.controlplane.events.EventLog;
import io.mpqemu.controlplane.leadership.LeaseKeeper;
import io.mpqemu.controlplane.leadership.LeaseStore;
import io.mpqemu.controlplane.leadership.Leadership;
import io.mpqemu.controlplane.leadership.Term;
import io.mpqemu.controlplane.nodes.NodeRegistry;
import io.mpqemu.controlplane.records.VmRecords;
import io.mpqemu.controlplane.store.Change;
import io.mpqemu.controlplane.store.StoreExecutor;
import io.mpqemu.controlplane.store.StoreTarget;
import io.mpqemu.controlplane.store.StoredNode;
import io.mpqemu.errors.Failures;
import io.mpqemu.v1.EventType;
import io.mpqemu.v1.VmEvent;
import io.mpqemu.wire.Timestamps;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The leadership the rest of a control plane on a shared store (PostgreSQL) sees, and what happens when it
 * changes hands. Elected, a control plane first takes office: it reads the event log up to its end and
 * every VM again (what the last leader wrote is the truth, its own copy may be stale), records the nodes
 * as it knows them, records {@code LEADER_LOST} for the term that ended and {@code LEADER_ELECTED} for its
 * own, and only then {@link #leads} (writes, dispatches, reconciles). A standby reads the event log's new
 * events from the store when the store says there are some (and every second), so its subscribers see
 * every event. Runs on the control plane's
 * event loop.
 */
final class Succession implements Leadership, LeaseKeeper.Listener {

  private static final Logger LOG = LoggerFactory.getLogger(Succession.class);
  /**
   * How often a standby reads the events other control planes recorded when nothing woke it: the store's
   * notifications ({@code LISTEN/NOTIFY} on PostgreSQL) wake it within milliseconds, this is the backstop.
   */
  static final Duration FOLLOW_EVERY = Duration.ofSeconds(1);
  private static final int FOLLOW_BATCH = 1000;

  private final Vertx vertx;
  private final LeaseKeeper keeper;
  private final StoreExecutor store;
  private final EventLog log;
  private final NodeRegistry nodes;
  private final Clock clock;
  private VmRecords records;
  private Runnable reconcile = () -> { };
  /** The epoch this control plane took office in; 0 while it does not act as leader. */
  private volatile long acting;
  private boolean following;
  /** A wake-up came while a read was under way: read again once it ends. */
  private boolean again;
  private AutoCloseable watch = () -> { };
  /** Completed once this control plane knows its place: in office, or a standby that saw who leads. */
  private final Promise<Void> settled = Promise.promise();

  /** @param keeper makes the lease keeper that tells this of each change */
  Succession(Vertx vertx, Function<LeaseKeeper.Listener, LeaseKeeper> keeper, StoreExecutor store, EventLog log,
      NodeRegistry nodes, Clock clock) {
    this.vertx = vertx;
    this.keeper = keeper.apply(this);
    this.store = store;
    this.log = log;
    this.nodes = nodes;
    this.clock = clock;
  }

  /**
   * Starts trying for the lease, and following the event log while a standby: woken by {@code events}
   * (the store's notifications), and every {@link #FOLLOW_EVERY} whatever happens. Call it on the control
   * plane's event loop.
   */
  void start(VmRecords writeModel, Runnable reconciliation, StoreTarget events) {
    this.records = writeModel;
    this.reconcile = reconciliation;
    keeper.start();
    Context loop = vertx.getOrCreateContext();
    watch = events.watchEvents(() -> loop.runOnContext(v -> follow()));
    vertx.setPeriodic(FOLLOW_EVERY.toMillis(), t -> follow());
  }

  /**
   * Completes once this control plane took office or saw another lead, so that it says it is ready
   * knowing which it is; it does not fail (a store out of reach leaves it waiting: bound it with a timeout).
   */
  Future<Void> settled() {
    return settled.future();
  }

  /** Steps down and releases the lease (a clean stop: another takes over at once). */
  Future<Void> stop() {
    acting = 0;
    Future<Void> unwatched = vertx.executeBlocking(() -> { // closes a database connection: off the loop
      watch.close();
      return null;
    }, false).<Void>mapEmpty().recover(e -> {
      LOG.debug("event watch: {}", e.toString());
      return Future.succeededFuture();
    });
    return Future.join(unwatched, keeper.stop()).mapEmpty();
  }

  /** Announces what this control plane serves (its gRPC addresses), with every lease attempt from now on. */
  void serving(List<String> addresses) {
    keeper.serving(addresses);
  }

  /** The control planes sharing the store, as the database has them. */
  Future<LeaseStore.Members> members() {
    return keeper.members();
  }

  /** The lease's epoch to fence the store's writes with: the keeper's own view, 0 when it does not hold it. */
  long fenceEpoch() {
    return keeper.leads() ? keeper.epoch() : 0;
  }

  @Override
  public boolean leads() {
    return acting != 0 && keeper.leads() && keeper.epoch() == acting;
  }

  @Override
  public long epoch() {
    return keeper.epoch();
  }

  @Override
  public String id() {
    return keeper.id();
  }

  @Override
  public Optional<Term> lastSeen() {
    return keeper.lastSeen();
  }

  @Override
  public void elected(Term term, Term before) {
    takeOffice(term, before);
  }

  @Override
  public void answered(Term term) {
    if (!term.holder().equals(id())) {
      settled.tryComplete();
    }
  }

  @Override
  public void lost(long epoch, String why) {
    acting = 0;
    LOG.warn("leadership: {} no longer leads (epoch {}): {}; it stops dispatching and takes no writes", id(), epoch, why);
  }

  /** Catches up, reloads, records the change of term; retried while the term lasts if the store fails. */
  private void takeOffice(Term term, Term before) {
    if (!keeper.leads() || keeper.epoch() != term.epoch()) {
      return; // the term ended before it could start
    }
    catchUp().compose(v -> records.reload()).compose(loaded -> {
      for (StoredNode n : nodes.all()) {
        store.call(st -> {
          st.putNode(n);
          return null;
        });
      }
      Change.Builder change = Change.builder();
      if (!term.begun()) {
        // this id's own unexpired term: it restarted at once, or could not confirm its lease for a while and
        // stopped leading, yet nobody else could take the lease meanwhile: the term goes on
        change.event(leaderEvent(EventType.LEADER_ELECTED, "LeaseResumed", term.epoch(), "control plane "
            + term.holder() + " leads again in epoch " + term.epoch() + ", the same term (after a restart or a"
            + " lapse in confirming its lease); it read " + loaded + " VM(s) again"));
      } else {
        if (term.epoch() > 1) {
          String who = before != null && before.epoch() == term.epoch() - 1 ? before.holder() : "the previous leader";
          change.event(leaderEvent(EventType.LEADER_LOST, "LeaseEnded", term.epoch() - 1, "the term of " + who
              + " (epoch " + (term.epoch() - 1) + ") ended: it stopped, died or lost the database"));
        }
        change.event(leaderEvent(EventType.LEADER_ELECTED, "LeaseTaken", term.epoch(), "control plane "
            + term.holder() + " leads in epoch " + term.epoch() + "; it read " + loaded + " VM(s) again"));
      }
      return records.commit(change.build()).map(loaded);
    }).onSuccess(loaded -> {
      if (keeper.leads() && keeper.epoch() == term.epoch()) {
        acting = term.epoch();
        settled.tryComplete();
        LOG.info("leadership: {} took office in epoch {} ({} VM(s), event log at seq {})", id(), term.epoch(), loaded,
            log.lastSeq());
        reconcile.run();
      }
    }).onFailure(e -> {
      LOG.warn("leadership: {} cannot take office in epoch {} yet: {}; trying again", id(), term.epoch(),
          Failures.describe(e));
      vertx.setTimer(1000, t -> takeOffice(term, before));
    });
  }

  private VmEvent leaderEvent(EventType type, String reason, long epoch, String message) {
    return VmEvent.newBuilder().setType(type).setReason(reason).setLeaderEpoch(epoch).setMessage(message)
        .setTime(Timestamps.of(clock.instant())).build();
  }

  /** A standby's wake-up: the events recorded since its last read, to its subscribers. */
  private void follow() {
    if (acting != 0) {
      return;
    }
    if (following) {
      again = true;
      return;
    }
    catchUp().onComplete(ar -> {
      if (again) {
        again = false;
        follow();
      }
    });
  }

  /**
   * Completes once the event log holds every event committed before now: at once while this control plane
   * leads (it records them itself), after reading the store's newer events on a standby. On the loop.
   */
  public Future<Void> caughtUp() {
    return acting != 0 ? Future.succeededFuture() : readNewer();
  }

  /** Reads and publishes the events after the log's end, batch by batch, until there are none. */
  private Future<Void> catchUp() {
    following = true;
    return readNewer().onComplete(ar -> following = false);
  }

  private Future<Void> readNewer() {
    return store.read(st -> st.events(log.lastSeq(), "", FOLLOW_BATCH)).compose(events -> {
      List<VmEvent> newer = events.stream().filter(e -> e.getSeq() > log.lastSeq()).toList();
      log.published(newer);
      return events.size() == FOLLOW_BATCH ? readNewer() : Future.<Void>succeededFuture();
    });
  }
}
