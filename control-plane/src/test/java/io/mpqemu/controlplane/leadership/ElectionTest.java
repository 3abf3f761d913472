package io.mpqemu.controlplane.leadership;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class ElectionTest {

  @Test
  void takesHostLikeIdsAndTheDefaultLease() {
    assertThat(new Election("cp-a.example.org", LeaseSettings.DEFAULT).controlPlaneId()).isEqualTo("cp-a.example.org");
    assertThat(Election.defaults().lease()).isEqualTo(LeaseSettings.DEFAULT);
    assertThat(Election.hostId()).matches("[a-z0-9]([a-z0-9.-]{0,61}[a-z0-9])?");
  }

  @ParameterizedTest
  @ValueSource(strings = {"", "CP-A", "-cp", "cp-", "cp a", "cp_a", "cp/a"})
  void refusesIdsThatAreNotHostLike(String id) {
    assertThatThrownBy(() -> new Election(id, LeaseSettings.DEFAULT)).isInstanceOf(IllegalArgumentException.class)
        .hasMessageStartingWith("--control-plane-id must be 1 to 63 lower-case letters");
  }

  @Test
  void readsLeaseDurationsInSecondsOrMilliseconds() {
    assertThat(Election.parseDuration("--lease-length", "4s")).isEqualTo(Duration.ofSeconds(4));
    assertThat(Election.parseDuration("--lease-renew-deadline", "1500ms")).isEqualTo(Duration.ofMillis(1500));
    assertThatThrownBy(() -> Election.parseDuration("--lease-length", "4")).hasMessage(
        "--lease-length must be a whole number followed by ms or s (4s, 1500ms), not '4'");
    assertThatThrownBy(() -> new LeaseSettings(Duration.ofSeconds(2), Duration.ofSeconds(3), Duration.ofSeconds(1)))
        .hasMessageStartingWith("the lease needs 0 < retry period < renew deadline < lease length");
  }
}
