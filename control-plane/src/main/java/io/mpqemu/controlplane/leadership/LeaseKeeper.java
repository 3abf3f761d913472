package io.mpqemu.controlplane.leadership;

import io.mpqemu.errors.Failures;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.WorkerExecutor;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Takes and keeps the leader's lease for this control plane, or waits for it: every retry period one
 * attempt (on a worker of its own, never on the event loop). A confirmed renewal makes this control plane
 * the leader until the renew deadline after the attempt was sent, on the monotonic clock; when no renewal is
 * confirmed by then (the database is cut off, slow, or another holds the lease) it steps down by itself,
 * before the lease can expire for the others. A clean {@link #stop} releases the lease at once. Runs on the
 * event loop it was started on.
 */
public final class LeaseKeeper implements Leadership {

  private static final Logger LOG = LoggerFactory.getLogger(LeaseKeeper.class);

  /** Told of each change, on the event loop. */
  public interface Listener {
    /**
     * This control plane leads in {@code term}; {@code before} is the last term it saw another hold (null
     * when it saw none): the term that ended.
     */
    void elected(Term term, Term before);

    void lost(long epoch, String why);

    /** Every answer of the database, whoever holds the lease (after {@link #elected} or {@link #lost}). */
    default void answered(Term term) {}
  }

  private final Vertx vertx;
  private final LeaseStore lease;
  private final String holder;
  private final LeaseSettings settings;
  private final Listener listener;
  private final LongSupplier nanoTime;
  private final WorkerExecutor worker;
  private volatile boolean leading;
  private volatile long epoch;
  private volatile long leadingUntilNanos;
  /** The lease as the database last answered it (ours or another's); null before the first answer. */
  private volatile Term lastSeen;
  private final Instant startedAt = Instant.now().truncatedTo(java.time.temporal.ChronoUnit.MICROS);
  /** What it announces it serves, with every attempt (informative: for ListControlPlanes). */
  private volatile List<String> addresses = List.of();
  private boolean attempting;
  private boolean stopped;
  private boolean failing;
  private long timer = -1;

  public LeaseKeeper(Vertx vertx, LeaseStore lease, String holder, LeaseSettings settings, Listener listener) {
    this(vertx, lease, holder, settings, listener, System::nanoTime);
  }

  LeaseKeeper(Vertx vertx, LeaseStore lease, String holder, LeaseSettings settings, Listener listener,
      LongSupplier nanoTime) {
    this.vertx = vertx;
    this.lease = lease;
    this.holder = holder;
    this.settings = settings;
    this.listener = listener;
    this.nanoTime = nanoTime;
    this.worker = vertx.createSharedWorkerExecutor("mpqemu-lease-" + holder, 1);
  }

  /** Starts trying; call it on the control plane's event loop. */
  public void start() {
    tick();
  }

  @Override
  public boolean leads() {
    return leading && nanoTime.getAsLong() - leadingUntilNanos < 0;
  }

  @Override
  public long epoch() {
    return epoch;
  }

  @Override
  public String id() {
    return holder;
  }

  @Override
  public Optional<Term> lastSeen() {
    return Optional.ofNullable(lastSeen);
  }

  /** Stops trying and, when leading, steps down and releases the lease so that another takes it at once. */
  public Future<Void> stop() {
    stopped = true;
    vertx.cancelTimer(timer);
    Future<Void> released = Future.succeededFuture();
    if (leading) {
      long term = epoch;
      stepDown("this control plane is stopping");
      released = worker.executeBlocking(() -> {
        lease.release(holder, term);
        return null;
      }, true).<Void>mapEmpty().recover(e -> {
        LOG.warn("leadership: could not release the lease of epoch {} ({}); it expires by itself", term,
            Failures.describe(e));
        return Future.succeededFuture();
      });
    }
    return released.eventually(() -> worker.executeBlocking(() -> {
      try {
        lease.withdraw(holder, startedAt);
      } catch (RuntimeException e) {
        LOG.debug("leadership: {} could not withdraw its announcement: {}", holder, e.getMessage());
      }
      lease.close();
      return null;
    }, true)).eventually(() -> worker.close());
  }

  /** What this control plane serves (its gRPC addresses), announced with every attempt from now on. */
  public void serving(List<String> grpcAddresses) {
    this.addresses = List.copyOf(grpcAddresses);
    worker.executeBlocking(() -> { // at once, not at the next attempt: ListControlPlanes shows them from now
      lease.announce(holder, addresses, startedAt);
      return null;
    }, true).onFailure(e -> LOG.debug("leadership: {} could not announce itself: {}", holder, e.getMessage()));
  }

  /** Every control plane sharing the store, as announced, with the lease as it stands. */
  public Future<LeaseStore.Members> members() {
    return worker.executeBlocking(lease::members, false);
  }

  /** Stops trying without releasing: what a control plane killed at this instant leaves behind. For tests. */
  void abandon() {
    stopped = true;
    vertx.cancelTimer(timer);
  }

  private void tick() {
    if (stopped) {
      return;
    }
    timer = vertx.setTimer(settings.retryPeriod().toMillis(), t -> tick());
    if (leading && nanoTime.getAsLong() - leadingUntilNanos >= 0) {
      stepDown("no renewal of the lease was confirmed within " + settings.renewDeadline().toMillis() + " ms");
    }
    if (attempting) {
      return; // the last attempt still hangs: the deadline above is what protects us meanwhile
    }
    attempting = true;
    long sentAt = nanoTime.getAsLong();
    worker.executeBlocking(() -> {
      Term term = lease.acquireOrRenew(holder, settings.length());
      try {
        lease.announce(holder, addresses, startedAt);
      } catch (RuntimeException e) {
        LOG.debug("leadership: {} could not announce itself: {}", holder, e.getMessage()); // informative only
      }
      return term;
    }, true)
        .onComplete(ar -> {
          attempting = false;
          if (stopped) {
            return;
          }
          if (ar.succeeded()) {
            answered(ar.result(), sentAt);
          } else if (!failing) {
            failing = true;
            LOG.warn("leadership: the lease cannot be reached: {}", Failures.describe(ar.cause()));
          }
        });
  }

  private void answered(Term term, long sentAt) {
    if (failing) {
      failing = false;
      LOG.info("leadership: the lease can be reached again");
    }
    Term before = lastSeen;
    lastSeen = term;
    if (!term.holder().equals(holder)) {
      if (leading) {
        stepDown(term.holder() + " holds the lease (epoch " + term.epoch() + ")");
      } else if (before == null || before.epoch() != term.epoch()) {
        LOG.info("leadership: {} is a standby; {} leads in epoch {}", holder, term.holder(), term.epoch());
      }
      listener.answered(term);
      return;
    }
    long deadline = sentAt + settings.renewDeadline().toNanos();
    if (nanoTime.getAsLong() - deadline >= 0) {
      return; // confirmed too late to count: the next attempt decides
    }
    boolean newTerm = !leading || term.epoch() != epoch;
    leadingUntilNanos = deadline;
    epoch = term.epoch();
    leading = true;
    vertx.setTimer(Math.max(1, (deadline - nanoTime.getAsLong()) / 1_000_000 + 1), t -> {
      if (leading && !stopped && nanoTime.getAsLong() - leadingUntilNanos >= 0) {
        stepDown("no renewal of the lease was confirmed within " + settings.renewDeadline().toMillis() + " ms");
      }
    });
    if (newTerm) {
      LOG.info("leadership: {} leads in epoch {}", holder, epoch);
      listener.elected(term, before == null || before.epoch() == term.epoch() ? null : before);
    }
    listener.answered(term);
  }

  private void stepDown(String why) {
    if (!leading) {
      return;
    }
    leading = false;
    LOG.warn("leadership: {} steps down from epoch {}: {}", holder, epoch, why);
    listener.lost(epoch, why);
  }
}
