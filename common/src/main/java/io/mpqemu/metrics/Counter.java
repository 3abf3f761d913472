package io.mpqemu.metrics;

import java.util.List;

/** A value that only goes up (since the process started). */
public final class Counter extends MetricFamily<Counter.Series> {

  Counter(String name, String help, List<String> labelNames) {
    super(name, help, labelNames);
  }

  /** Adds one to the series without labels. */
  public void inc() {
    labels().inc(1);
  }

  public double value() {
    return labels().value();
  }

  @Override
  Series newSeries() {
    return new Series();
  }

  @Override
  String type() {
    return "counter";
  }

  @Override
  void renderSeries(StringBuilder out, List<String> names, List<String> values, Series s) {
    sample(out, name(), PrometheusText.labels(names, values, null, null), s.value());
  }

  /** One labelled counter. */
  public static final class Series {
    private double value;

    public synchronized void inc(double amount) {
      if (amount < 0 || Double.isNaN(amount)) {
        throw new IllegalArgumentException("a counter cannot go down (" + amount + ")");
      }
      value += amount;
    }

    /** For a count kept elsewhere (it never decreases): copies it in. */
    public synchronized void setTotal(double total) {
      value = Math.max(value, total);
    }

    public synchronized double value() {
      return value;
    }
  }
}
