package io.mpqemu.metrics;

import java.util.Arrays;
import java.util.List;

/** Observations counted into fixed buckets ({@code _bucket{le=...}}, cumulative), with {@code _sum} and {@code _count}. */
public final class Histogram extends MetricFamily<Histogram.Series> {

  private final double[] bounds;

  Histogram(String name, String help, double[] bounds, List<String> labelNames) {
    super(name, help, checked(labelNames, bounds));
    this.bounds = bounds.clone();
  }

  private static List<String> checked(List<String> labelNames, double[] bounds) {
    if (labelNames.contains("le")) {
      throw new IllegalArgumentException("a histogram cannot have a label named le");
    }
    if (bounds.length == 0) {
      throw new IllegalArgumentException("a histogram needs at least one bucket bound");
    }
    for (int i = 0; i < bounds.length; i++) {
      if (Double.isNaN(bounds[i]) || Double.isInfinite(bounds[i]) || i > 0 && bounds[i] <= bounds[i - 1]) {
        throw new IllegalArgumentException("bucket bounds must be finite and increasing: " + Arrays.toString(bounds));
      }
    }
    return labelNames;
  }

  /** Observes into the series without labels. */
  public void observe(double value) {
    labels().observe(value);
  }

  @Override
  Series newSeries() {
    // called from the super constructor for an unlabelled histogram, before bounds is set
    return new Series(this);
  }

  @Override
  String type() {
    return "histogram";
  }

  @Override
  void renderSeries(StringBuilder out, List<String> names, List<String> values, Series s) {
    long[] counts;
    double sum;
    long count;
    synchronized (s) {
      counts = s.counts().clone();
      sum = s.sum;
      count = s.count;
    }
    long cumulative = 0;
    for (int i = 0; i < bounds.length; i++) {
      cumulative += counts[i];
      sample(out, name() + "_bucket", PrometheusText.labels(names, values, "le", PrometheusText.number(bounds[i])),
          cumulative);
    }
    sample(out, name() + "_bucket", PrometheusText.labels(names, values, "le", "+Inf"), count);
    String labels = PrometheusText.labels(names, values, null, null);
    sample(out, name() + "_sum", labels, sum);
    sample(out, name() + "_count", labels, count);
  }

  /** One labelled histogram. */
  public static final class Series {
    private final Histogram family;
    private long[] counts;
    private double sum;
    private long count;

    Series(Histogram family) {
      this.family = family;
    }

    private long[] counts() {
      if (counts == null) {
        counts = new long[family.bounds.length];
      }
      return counts;
    }

    public synchronized void observe(double value) {
      double[] bounds = family.bounds;
      long[] c = counts();
      for (int i = 0; i < bounds.length; i++) {
        if (value <= bounds[i]) {
          c[i]++;
          break;
        }
      }
      sum += value;
      count++;
    }

    public synchronized long count() {
      return count;
    }
  }
}
