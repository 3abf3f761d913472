package io.mpqemu.metrics;

import java.util.List;

/** A value that goes up and down, usually set just before each scrape. */
public final class Gauge extends MetricFamily<Gauge.Series> {

  Gauge(String name, String help, List<String> labelNames) {
    super(name, help, labelNames);
  }

  /** Sets the series without labels. */
  public void set(double value) {
    labels().set(value);
  }

  @Override
  Series newSeries() {
    return new Series();
  }

  @Override
  String type() {
    return "gauge";
  }

  @Override
  void renderSeries(StringBuilder out, List<String> names, List<String> values, Series s) {
    sample(out, name(), PrometheusText.labels(names, values, null, null), s.value());
  }

  /** One labelled gauge. */
  public static final class Series {
    private volatile double value;

    public void set(double v) {
      value = v;
    }

    public double value() {
      return value;
    }
  }
}
