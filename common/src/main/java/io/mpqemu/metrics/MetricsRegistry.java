package io.mpqemu.metrics;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** The metrics of one service, rendered in the Prometheus text format in the order they were registered. */
public final class MetricsRegistry {

  public static final String CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

  private final Map<String, MetricFamily<?>> families = new LinkedHashMap<>();

  public Counter counter(String name, String help, String... labelNames) {
    return add(new Counter(name, help, List.of(labelNames)));
  }

  public Gauge gauge(String name, String help, String... labelNames) {
    return add(new Gauge(name, help, List.of(labelNames)));
  }

  /** @param bounds the upper bounds of the buckets, increasing; +Inf is implied */
  public Histogram histogram(String name, String help, double[] bounds, String... labelNames) {
    return add(new Histogram(name, help, bounds, List.of(labelNames)));
  }

  private synchronized <F extends MetricFamily<?>> F add(F family) {
    if (families.putIfAbsent(family.name(), family) != null) {
      throw new IllegalArgumentException("metric " + family.name() + " is registered already");
    }
    return family;
  }

  public String render() {
    List<MetricFamily<?>> all;
    synchronized (this) {
      all = List.copyOf(families.values());
    }
    StringBuilder out = new StringBuilder();
    all.forEach(f -> f.render(out));
    return out.toString();
  }
}
