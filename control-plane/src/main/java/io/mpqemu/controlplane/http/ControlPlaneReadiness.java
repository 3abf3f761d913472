package io.mpqemu.controlplane.http;

import io.mpqemu.controlplane.leadership.Leadership;
import io.mpqemu.controlplane.store.StoreExecutor;
import io.mpqemu.http.Check;
import io.vertx.core.Future;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;

/**
 * The control plane is ready when it started, its store answers a trivial read and its event bus consumers
 * are registered. A standby is ready too (it serves reads); the {@code leadership} check says which it is.
 */
public final class ControlPlaneReadiness implements Supplier<Future<List<Check>>> {

  static final Duration STORE_TIMEOUT = Duration.ofSeconds(2);

  private final StoreExecutor store;
  private final Future<?> busJoined;
  private final BooleanSupplier started;
  private final Leadership leadership;
  private Future<Long> probe;
  private long probeSince;

  public ControlPlaneReadiness(StoreExecutor store, Future<?> busJoined, BooleanSupplier started, Leadership leadership) {
    this.leadership = leadership;
    this.store = store;
    this.busJoined = busJoined;
    this.started = started;
  }

  @Override
  public Future<List<Check>> get() {
    Check start = started.getAsBoolean() ? Check.passed("started", "VMs loaded, gRPC serving")
        : Check.failed("started", "still starting");
    Check bus = busJoined.succeeded() ? Check.passed("bus", "agent events and heartbeats consumed")
        : busJoined.failed() ? Check.failed("bus", "event bus consumers failed: " + busJoined.cause().getMessage())
        : Check.failed("bus", "event bus consumers not registered yet");
    Check lead = Check.passed("leadership", leadership.describe());
    return storeCheck().map(st -> List.of(start, bus, st, lead));
  }

  /**
   * At most one probe is queued on the store at a time: a stuck store must not collect a probe per
   * request behind it. While a probe is pending, later checks wait on the same one (with the timeout).
   */
  private synchronized Future<Check> storeCheck() {
    Future<Long> p = probe;
    if (p == null) {
      probeSince = System.nanoTime();
      Future<Long> fresh = store.call(st -> st.lastSeq());
      probe = fresh;
      fresh.onComplete(ar -> clearProbe(fresh));
      p = fresh;
    }
    long waited = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - probeSince);
    return p.timeout(STORE_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)
        .map(seq -> Check.passed("store", "answers; event log at seq " + seq))
        .otherwise(e -> Check.failed("store", "does not answer (a read pending for "
            + (waited + STORE_TIMEOUT.toMillis()) + " ms)"));
  }

  private synchronized void clearProbe(Future<Long> done) {
    if (probe == done) {
      probe = null;
    }
  }

  /** How many probes are on the store now (0 or 1). */
  synchronized int probesInFlight() {
    return probe == null ? 0 : 1;
  }
}
