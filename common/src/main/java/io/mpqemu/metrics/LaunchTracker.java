package io.mpqemu.metrics;

import io.mpqemu.v1.VmEvent;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Consumer;

/**
 * Launch counts, failures and latency, read from the event stream alone: a VM's LAUNCH_STARTED
 * opens a launch, its LAUNCHED closes it (the time between the two events is the latency) and
 * LAUNCH_FAILED counts a failure. Feed it events in order, from one thread.
 */
public final class LaunchTracker implements Consumer<VmEvent> {

  /** Seconds: a TCG launch takes about one, a launch that waits on a slow disk far longer. */
  public static final double[] LATENCY_BUCKETS = {0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300};
  /** Open launches remembered at most: an event stream that lost the ends of launches cannot grow it without bound. */
  static final int MAX_OPEN = 10_000;

  private final Counter launches;
  private final Counter failures;
  private final Histogram latency;
  private final Clock clock;
  private final Map<String, Instant> open = new LinkedHashMap<>();

  public LaunchTracker(MetricsRegistry registry, Clock clock) {
    this.launches = registry.counter("mpqemu_launches_total", "VM launches started (LAUNCH_STARTED events).");
    this.failures = registry.counter("mpqemu_launch_failures_total", "VM launches that failed (LAUNCH_FAILED events).");
    this.latency = registry.histogram("mpqemu_launch_seconds",
        "Time from a VM's LAUNCH_STARTED to its LAUNCHED event, for launches that succeeded.", LATENCY_BUCKETS);
    this.clock = clock;
  }

  @Override
  public void accept(VmEvent e) {
    String vm = e.getVmId();
    switch (e.getType()) {
      case LAUNCH_STARTED -> {
        launches.inc();
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
          latency.observe(Math.max(0, Duration.between(started, timeOf(e)).toNanos() / 1e9));
        }
      }
      case LAUNCH_FAILED -> {
        failures.inc();
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
    return Instant.ofEpochSecond(e.getTime().getSeconds(), e.getTime().getNanos());
  }
}
