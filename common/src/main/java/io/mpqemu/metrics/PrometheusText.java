package io.mpqemu.metrics;

import java.util.List;
import java.util.regex.Pattern;

/** The Prometheus text exposition format (version 0.0.4): names, escaping, numbers. */
final class PrometheusText {

  static final Pattern METRIC_NAME = Pattern.compile("^[a-zA-Z_:][a-zA-Z0-9_:]*$");
  static final Pattern LABEL_NAME = Pattern.compile("^[a-zA-Z_][a-zA-Z0-9_]*$");

  private PrometheusText() {}

  /** HELP text: backslash and line feed are escaped. */
  static String escapeHelp(String help) {
    return help.replace("\\", "\\\\").replace("\n", "\\n");
  }

  /** A label value: backslash, double quote and line feed are escaped. */
  static String escapeLabelValue(String value) {
    return value.replace("\\", "\\\\").replace("\"", "\\\"").replace("\n", "\\n");
  }

  /** {@code {a="1",b="2"}}, or "" without labels; {@code extraName} ("le") is appended when not null. */
  static String labels(List<String> names, List<String> values, String extraName, String extraValue) {
    if (names.isEmpty() && extraName == null) {
      return "";
    }
    StringBuilder b = new StringBuilder("{");
    for (int i = 0; i < names.size(); i++) {
      if (i > 0) {
        b.append(',');
      }
      b.append(names.get(i)).append("=\"").append(escapeLabelValue(values.get(i))).append('"');
    }
    if (extraName != null) {
      if (!names.isEmpty()) {
        b.append(',');
      }
      b.append(extraName).append("=\"").append(escapeLabelValue(extraValue)).append('"');
    }
    return b.append('}').toString();
  }

  /** A sample value: whole numbers without a fraction, {@code +Inf}, {@code -Inf}, {@code NaN}. */
  static String number(double v) {
    if (Double.isNaN(v)) {
      return "NaN";
    }
    if (Double.isInfinite(v)) {
      return v > 0 ? "+Inf" : "-Inf";
    }
    if (v == Math.rint(v) && Math.abs(v) < 1e15) {
      return Long.toString((long) v);
    }
    return Double.toString(v);
  }

  static void requireMetricName(String name) {
    if (!METRIC_NAME.matcher(name).matches()) {
      throw new IllegalArgumentException("metric name '" + name + "' must match " + METRIC_NAME.pattern());
    }
  }

  static void requireLabelName(String name) {
    if (!LABEL_NAME.matcher(name).matches() || name.startsWith("__")) {
      throw new IllegalArgumentException("label name '" + name + "' must match " + LABEL_NAME.pattern()
          + " and not start with __");
    }
  }
}
