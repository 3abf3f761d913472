package io.mpqemu.errors;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

class EchoTest {

  @Test
  @DisplayName("a short printable value is shown as it is, quote puts it in single quotes")
  void shortValue() {
    assertThat(Echo.of("web-1")).isEqualTo("web-1");
    assertThat(Echo.quote("web-1")).isEqualTo("'web-1'");
    assertThat(Echo.quote("")).isEqualTo("''");
    assertThat(Echo.quote(null)).isEqualTo("'null'");
  }

  @Test
  @DisplayName("a value of 64 characters is whole; a longer one is cut at 64 and marked with …")
  void cutShort() {
    assertThat(Echo.of("a".repeat(64))).isEqualTo("a".repeat(64));
    assertThat(Echo.of("a".repeat(65))).isEqualTo("a".repeat(64) + "…");
    assertThat(Echo.quote("b".repeat(10_000))).isEqualTo("'" + "b".repeat(64) + "…'").hasSize(64 + 3);
  }

  @Test
  @DisplayName("control characters and anything outside printable ASCII become '?'")
  void nonPrintable() {
    assertThat(Echo.of("a\nb\r\u0000c\u007fd\u00e9e\uD83D\uDE00")).isEqualTo("a?b??c?d?e??");
    assertThat(Echo.of("\n".repeat(100))).isEqualTo("?".repeat(64) + "…");
  }
}
