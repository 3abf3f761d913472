package io.mpqemu.metrics;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

class MetricsRegistryTest {

  private final MetricsRegistry registry = new MetricsRegistry();

  @Test
  @DisplayName("a counter without labels renders HELP, TYPE and 0 before its first increment")
  void counterStartsAtZero() {
    registry.counter("mpqemu_things_total", "Things done.");

    assertThat(registry.render()).isEqualTo("""
        # HELP mpqemu_things_total Things done.
        # TYPE mpqemu_things_total counter
        mpqemu_things_total 0
        """);
  }

  @Test
  @DisplayName("label values escape backslash, double quote and line feed; help escapes backslash and line feed")
  void escaping() {
    Gauge g = registry.gauge("mpqemu_odd", "A \\ help\nover two lines.", "name");
    g.labels("a\"b\\c\nd").set(2.5);

    assertThat(registry.render()).isEqualTo("""
        # HELP mpqemu_odd A \\\\ help\\nover two lines.
        # TYPE mpqemu_odd gauge
        mpqemu_odd{name="a\\"b\\\\c\\nd"} 2.5
        """);
  }

  @Test
  @DisplayName("a histogram renders cumulative buckets, +Inf, _sum and _count")
  void histogram() {
    Histogram h = registry.histogram("mpqemu_wait_seconds", "Waits.", new double[] {0.5, 1, 2.5}, "kind");
    h.labels("a").observe(0.25);
    h.labels("a").observe(1);
    h.labels("a").observe(7);

    assertThat(registry.render()).isEqualTo("""
        # HELP mpqemu_wait_seconds Waits.
        # TYPE mpqemu_wait_seconds histogram
        mpqemu_wait_seconds_bucket{kind="a",le="0.5"} 1
        mpqemu_wait_seconds_bucket{kind="a",le="1"} 2
        mpqemu_wait_seconds_bucket{kind="a",le="2.5"} 2
        mpqemu_wait_seconds_bucket{kind="a",le="+Inf"} 3
        mpqemu_wait_seconds_sum{kind="a"} 8.25
        mpqemu_wait_seconds_count{kind="a"} 3
        """);
  }

  @Test
  @DisplayName("special values render as +Inf, -Inf and NaN")
  void specialValues() {
    Gauge g = registry.gauge("mpqemu_g", "G.", "v");
    g.labels("a").set(Double.POSITIVE_INFINITY);
    g.labels("b").set(Double.NEGATIVE_INFINITY);
    g.labels("c").set(Double.NaN);

    assertThat(registry.render()).contains("mpqemu_g{v=\"a\"} +Inf\n", "mpqemu_g{v=\"b\"} -Inf\n", "mpqemu_g{v=\"c\"} NaN\n");
  }

  @Test
  @DisplayName("bad metric names, label names, a label named le on a histogram and duplicates are refused")
  void badNames() {
    assertThatThrownBy(() -> registry.counter("1abc", "x")).hasMessageContaining("metric name '1abc'");
    assertThatThrownBy(() -> registry.gauge("mpqemu_x", "x", "bad-label")).hasMessageContaining("label name 'bad-label'");
    assertThatThrownBy(() -> registry.gauge("mpqemu_y", "x", "__reserved")).hasMessageContaining("__reserved");
    assertThatThrownBy(() -> registry.histogram("mpqemu_h", "x", new double[] {1}, "le")).hasMessageContaining("le");
    assertThatThrownBy(() -> registry.histogram("mpqemu_h2", "x", new double[] {2, 1})).hasMessageContaining("increasing");
    registry.counter("mpqemu_dup_total", "x");
    assertThatThrownBy(() -> registry.gauge("mpqemu_dup_total", "x")).hasMessageContaining("registered already");
  }

  @Test
  @DisplayName("a counter cannot go down, and a series needs exactly its label values")
  void counterRules() {
    Counter c = registry.counter("mpqemu_c_total", "C.", "a", "b");
    assertThatThrownBy(() -> c.labels("x").inc(1)).hasMessageContaining("takes 2 label value(s)");
    assertThatThrownBy(() -> c.labels("x", "y").inc(-1)).hasMessageContaining("cannot go down");
    c.labels("x", "y").setTotal(5);
    c.labels("x", "y").setTotal(3);
    assertThat(c.labels("x", "y").value()).isEqualTo(5);
  }
}
