package io.mpqemu.metrics;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Timer;
import io.mpqemu.v1.VmEvent;
import io.mpqemu.wire.Timestamps;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Consumer;
import java.util.stream.DoubleStream;

/**
 * Launch counts, failures and latency, read from the event stream alone: a VM's LAUNCH_STARTED
 * opens a launch, its LAUNCHED closes it (the time between the two events is the latency) and
 * LAUNCH_FAILED counts a failure. Feed it events in order, from one thread; the meters may be read
 * from any.
 */
public final class LaunchTracker implements Consumer<VmEvent> {

  /** Seconds: a TCG launch takes about one, a launch that waits on a slow disk far longer. */
  public static final double[] LATENCY_BUCKETS = {0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300};
  /** Open launches remembered at most: an event stream that lost the ends of launches cannot grow it without bound. */
  static final int MAX_OPEN = 10_000;

  private final Counter launches;
  private final Counter failures;
  private final Timer latency;
  private final Clock clock;
  private final Map<String, Instant> open = new LinkedHashMap<>();

  public LaunchTracker(ServiceMeters meters, Clock clock) {
    this.launches = meters.counter("mpqemu_launches_total", "VM launches started (LAUNCH_STARTED events).");
    this.failures = meters.counter("mpqemu_launch_failures_total", "VM launches that failed (LAUNCH_FAILED events).");
    this.latency = meters.timer("mpqemu_launch_seconds",
        "Time from a VM's LAUNCH_STARTED to its LAUNCHED event, for launches that succeeded.",
        DoubleStream.of(LATENCY_BUCKETS).mapToObj(s -> Duration.ofNanos(Math.round(s * 1e9))).toArray(Duration[]::new));
    this.clock = clock;
  }

  @Override
  public void accept(VmEvent e) {
    String vm = e.getVmId();
    switch (e.getType()) {
      case LAUNCH_STARTED -> {
        launches.increment();
        open.remove(vm);
        if (open.size() >= MAX_OPEN) {
          Iterator<String> oldest = open.keySet().iterator();
          oldest.next();
          oldest.remove();
        }
        open.put(vm, timeOf(e));
      }
      case LAUNCHED -> {
        Instant started = open.remove(vm);
        if (started != null) {
          Duration took = Duration.between(started, timeOf(e));
          latency.record(took.isNegative() ? Duration.ZERO : took);
        }
      }
      case LAUNCH_FAILED -> {
        failures.increment();
        open.remove(vm);
      }
      case LAUNCH_ABANDONED, VM_FAILED, VM_STOPPED, VM_DELETED -> open.remove(vm);
      default -> {
        // not about a launch
      }
    }
  }

  private Instant timeOf(VmEvent e) {
    if (!e.hasTime()) {
      return clock.instant();
    }
    return Timestamps.instant(e.getTime());
  }
}
