package io.mpqemu.metrics;

import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Function;

/**
 * A gauge with a series per constant of an enum (VMs by phase, nodes by state). The usual constants
 * have a series from the start and show 0 when empty, so a phase that empties shows 0 rather than
 * vanishing; a rare one gets its series the first time it is counted.
 *
 * @param <E> the enum
 */
public final class EnumGauge<E extends Enum<E>> {

  private final ServiceMeters meters;
  private final String name;
  private final String help;
  private final String label;
  private final Function<E, String> labelValue;
  private final Map<E, AtomicLong> series;

  /**
   * @param labelValue the label value of a constant, or null for one that is never shown (protobuf's UNRECOGNIZED)
   * @param usual the constants that have a series from the start
   */
  public EnumGauge(ServiceMeters meters, String name, String help, String label, Class<E> type,
      Function<E, String> labelValue, List<E> usual) {
    this.meters = meters;
    this.name = name;
    this.help = help;
    this.label = label;
    this.labelValue = labelValue;
    this.series = new EnumMap<>(type);
    usual.forEach(this::seriesOf);
  }

  /** Sets every series: its count, or 0. Call on the service's context. */
  public void set(Map<E, Integer> counts) {
    counts.keySet().forEach(this::seriesOf);
    series.forEach((constant, value) -> value.set(counts.getOrDefault(constant, 0)));
  }

  private void seriesOf(E constant) {
    String value = labelValue.apply(constant);
    if (value != null && !series.containsKey(constant)) {
      series.put(constant, meters.gauge(name, help, label, value));
    }
  }
}
