package io.mpqemu.metrics;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One metric: a name, a help text, a type, and one series per combination of label values. A
 * family without labels has its one series from the start, so it shows 0 before the first change.
 *
 * @param <S> the series type
 */
public abstract class MetricFamily<S> {

  private final String name;
  private final String help;
  private final List<String> labelNames;
  private final Map<List<String>, S> series = new LinkedHashMap<>();

  MetricFamily(String name, String help, List<String> labelNames) {
    PrometheusText.requireMetricName(name);
    labelNames.forEach(PrometheusText::requireLabelName);
    this.name = name;
    this.help = help;
    this.labelNames = List.copyOf(labelNames);
    if (labelNames.isEmpty()) {
      labels();
    }
  }

  public String name() {
    return name;
  }

  /** The series of these label values (in the order the label names were given), created at first use. */
  public final synchronized S labels(String... values) {
    if (values.length != labelNames.size()) {
      throw new IllegalArgumentException(name + " takes " + labelNames.size() + " label value(s) " + labelNames
          + ", not " + values.length);
    }
    return series.computeIfAbsent(List.of(values), k -> newSeries());
  }

  abstract S newSeries();

  abstract String type();

  /** Appends the sample lines of one series; {@code names} and {@code values} are its labels. */
  abstract void renderSeries(StringBuilder out, List<String> names, List<String> values, S s);

  final void render(StringBuilder out) {
    List<Map.Entry<List<String>, S>> all;
    synchronized (this) {
      all = new ArrayList<>(series.entrySet());
    }
    out.append("# HELP ").append(name).append(' ').append(PrometheusText.escapeHelp(help)).append('\n');
    out.append("# TYPE ").append(name).append(' ').append(type()).append('\n');
    for (Map.Entry<List<String>, S> e : all) {
      renderSeries(out, labelNames, e.getKey(), e.getValue());
    }
  }

  static void sample(StringBuilder out, String name, String labels, double value) {
    out.append(name).append(labels).append(' ').append(PrometheusText.number(value)).append('\n');
  }
}
