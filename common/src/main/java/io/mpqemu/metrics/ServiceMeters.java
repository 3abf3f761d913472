package io.mpqemu.metrics;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The {@code mpqemu_*} meters of one service, named as Prometheus shows them, and removed together
 * when the service stops. Gauges and copied totals hold the value the service last set on its own
 * context; a scrape only reads them.
 */
public final class ServiceMeters {

  private final MeterRegistry registry;
  private final List<Meter> meters = new ArrayList<>();

  public ServiceMeters(MeterRegistry registry) {
    this.registry = registry;
  }

  /** A counter the service increments; {@code name} ends in {@code _total}. */
  public Counter counter(String name, String help) {
    return add(Counter.builder(name).description(help).register(registry));
  }

  /** A gauge whose value the service sets; {@code tags} are label name, value, name, value... */
  public AtomicLong gauge(String name, String help, String... tags) {
    AtomicLong value = new AtomicLong();
    add(Gauge.builder(name, value, AtomicLong::doubleValue).description(help).tags(tags).strongReference(true)
        .register(registry));
    return value;
  }

  /** A counter kept elsewhere and copied in (it never decreases): set it with {@link #copyTotal}. */
  public AtomicLong total(String name, String help) {
    AtomicLong value = new AtomicLong();
    add(FunctionCounter.builder(name, value, AtomicLong::doubleValue).description(help).register(registry));
    return value;
  }

  /** As above, one series of a labelled total; {@code tags} are label name, value, name, value... */
  public AtomicLong total(String name, String help, String... tags) {
    AtomicLong value = new AtomicLong();
    add(FunctionCounter.builder(name, value, AtomicLong::doubleValue).description(help).tags(tags).register(registry));
    return value;
  }

  /** Copies a count kept elsewhere into a {@link #total}; a smaller count than before leaves it alone. */
  public static void copyTotal(AtomicLong total, long count) {
    total.accumulateAndGet(count, Math::max);
  }

  /**
   * A latency histogram in seconds with exactly these bucket bounds (no percentiles); Micrometer adds
   * a {@code <name>_max} gauge beside it. {@code name} ends in {@code _seconds}.
   */
  public Timer timer(String name, String help, Duration... buckets) {
    return add(Timer.builder(name).description(help).serviceLevelObjectives(buckets).register(registry));
  }

  private synchronized <M extends Meter> M add(M meter) {
    meters.add(meter);
    return meter;
  }

  /** Removes every meter made here, so that a service started again in the same JVM starts from 0. */
  public synchronized void removeAll() {
    meters.forEach(registry::remove);
    meters.clear();
  }
}
