package io.mpqemu.errors;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.net.ConnectException;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

class FailuresTest {

  @Test
  @DisplayName("describe gives the first message on the cause chain, or the class name")
  void describe() {
    assertThat(Failures.describe(new IOException("disk full"))).isEqualTo("disk full");
    assertThat(Failures.describe(new RuntimeException(null, new IOException("disk full")))).isEqualTo("disk full");
    assertThat(Failures.describe(new IllegalStateException())).isEqualTo("IllegalStateException");
  }

  @Test
  @DisplayName("rootMessage gives the innermost cause's message, which names a connection's real problem")
  void rootMessage() {
    Throwable wrapped = new RuntimeException("call failed", new IOException("io", new ConnectException("Connection refused")));
    assertThat(Failures.rootMessage(wrapped)).isEqualTo("Connection refused");
    assertThat(Failures.rootMessage(new RuntimeException("x", new ConnectException()))).isEqualTo("ConnectException");
  }
}
