package io.mpqemu.fleet;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

class JoinAttemptsTest {

  private final List<String> warned = new ArrayList<>();
  private final List<Duration> slept = new ArrayList<>();

  @Test
  @DisplayName("a join that fails is tried again after the waits, each failure said once, and its success answered")
  void retriedUntilItJoins() throws Exception {
    AtomicInteger calls = new AtomicInteger();

    String joined = JoinAttempts.run(() -> {
      if (calls.incrementAndGet() < 3) {
        throw new IllegalStateException("ISPN000659: org.infinispan.LOCKS failed to start");
      }
      return "member";
    }, JoinAttempts.WAITS, warned::add, slept::add);

    assertThat(joined).isEqualTo("member");
    assertThat(slept).containsExactlyElementsOf(JoinAttempts.WAITS);
    assertThat(warned).containsExactly(
        "attempt 1 of 3 failed (ISPN000659: org.infinispan.LOCKS failed to start); trying again in 3 s",
        "attempt 2 of 3 failed (ISPN000659: org.infinispan.LOCKS failed to start); trying again in 6 s");
  }

  @Test
  @DisplayName("after the last attempt its failure is the answer, and nothing waits after it")
  void givesUp() {
    AtomicInteger calls = new AtomicInteger();

    assertThatThrownBy(() -> JoinAttempts.run(() -> {
      throw new IllegalStateException("attempt " + calls.incrementAndGet());
    }, JoinAttempts.WAITS, warned::add, slept::add)).hasMessage("attempt 3");

    assertThat(calls).hasValue(3);
    assertThat(slept).hasSize(2);
    assertThat(warned).hasSize(2);
  }
}
