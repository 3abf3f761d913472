package io.mpqemu.agent.http;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.HashSet;
import java.util.Set;
import java.util.regex.Pattern;

/** Checks a body is Prometheus text: each family announced by HELP and TYPE before its samples, each sample well formed. */
final class PrometheusFormat {

  private static final Pattern SAMPLE = Pattern.compile(
      "^([a-zA-Z_:][a-zA-Z0-9_:]*)(\\{([a-zA-Z_][a-zA-Z0-9_]*=\"([^\"\\\\\\n]|\\\\[\\\\\"n])*\",?)*\\})? (\\S+)$");

  private PrometheusFormat() {}

  static void check(String body) {
    assertThat(body).endsWith("\n");
    Set<String> typed = new HashSet<>();
    String help = null;
    for (String line : body.split("\n")) {
      if (line.startsWith("# HELP ")) {
        help = line.split(" ")[2];
      } else if (line.startsWith("# TYPE ")) {
        String[] parts = line.split(" ");
        assertThat(parts).hasSize(4);
        assertThat(parts[2]).as("TYPE follows its HELP").isEqualTo(help);
        assertThat(parts[3]).isIn("counter", "gauge", "histogram");
        assertThat(typed.add(parts[2])).as("one TYPE line for " + parts[2]).isTrue();
      } else {
        var m = SAMPLE.matcher(line);
        assertThat(m.matches()).as("a sample line: " + line).isTrue();
        String family = m.group(1).replaceAll("_(bucket|sum|count)$", "");
        assertThat(typed.contains(m.group(1)) || typed.contains(family)).as("family of " + line + " is typed").isTrue();
        String value = m.group(m.groupCount());
        assertThat(value.matches("^[-+]?(Inf|NaN|[0-9.eE+-]+)$")).as("value of " + line).isTrue();
      }
    }
  }
}
