package io.mpqemu.controlplane.policy;

import static org.assertj.core.api.Assertions.assertThat;

import io.mpqemu.controlplane.store.StoredVm;
import io.mpqemu.v1.DesiredState;
import io.mpqemu.v1.Phase;
import io.mpqemu.v1.RestartPolicy;
import io.mpqemu.v1.VmSpec;
import io.mpqemu.v1.VmStatus;
import java.time.Duration;
import java.time.Instant;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

class RestartsTest {

  private static final Duration MAX = Duration.ofSeconds(60);

  @Test
  @DisplayName("a failed VM with ON_FAILURE restarts after 1 s, then 2 s, 4 s ... and never waits more than the maximum")
  void onFailureBacksOffUpToTheMaximum() {
    assertThat(Restarts.next(vm(RestartPolicy.ON_FAILURE, Phase.PHASE_FAILED, 0), MAX))
        .hasValueSatisfying(r -> {
          assertThat(r.attempt()).isEqualTo(1);
          assertThat(r.delay()).isEqualTo(Duration.ofSeconds(1));
          assertThat(r.message()).isEqualTo("restart 1 (restart_policy ON_FAILURE) in 1000 ms");
        });
    assertThat(Restarts.next(vm(RestartPolicy.ON_FAILURE, Phase.PHASE_FAILED, 1), MAX).orElseThrow().delay())
        .isEqualTo(Duration.ofSeconds(2));
    assertThat(Restarts.next(vm(RestartPolicy.ON_FAILURE, Phase.PHASE_FAILED, 3), MAX).orElseThrow().delay())
        .isEqualTo(Duration.ofSeconds(8));
    assertThat(Restarts.next(vm(RestartPolicy.ON_FAILURE, Phase.PHASE_FAILED, 6), MAX).orElseThrow().delay())
        .isEqualTo(MAX);
    assertThat(Restarts.next(vm(RestartPolicy.ON_FAILURE, Phase.PHASE_FAILED, 500), MAX).orElseThrow().delay())
        .as("no overflow after many restarts").isEqualTo(MAX);
  }

  @Test
  @DisplayName("ON_FAILURE does not restart a VM that stopped cleanly; ALWAYS restarts both")
  void whichEndsRestart() {
    assertThat(Restarts.next(vm(RestartPolicy.ON_FAILURE, Phase.PHASE_STOPPED, 0), MAX)).isEmpty();
    assertThat(Restarts.next(vm(RestartPolicy.ALWAYS, Phase.PHASE_STOPPED, 0), MAX)).isPresent();
    assertThat(Restarts.next(vm(RestartPolicy.ALWAYS, Phase.PHASE_FAILED, 0), MAX)).isPresent();
  }

  @Test
  @DisplayName("NEVER never restarts, nor does any policy while the VM runs or after it was asked to stop")
  void noRestart() {
    assertThat(Restarts.next(vm(RestartPolicy.NEVER, Phase.PHASE_FAILED, 0), MAX)).isEmpty();
    assertThat(Restarts.next(vm(RestartPolicy.ALWAYS, Phase.PHASE_RUNNING, 0), MAX)).isEmpty();
    StoredVm stopped = vm(RestartPolicy.ALWAYS, Phase.PHASE_STOPPED, 0).withDesiredState(DesiredState.STOPPED, Instant.EPOCH);
    assertThat(Restarts.next(stopped, MAX)).isEmpty();
  }

  private static StoredVm vm(RestartPolicy policy, Phase phase, int restarts) {
    return new StoredVm("id", VmSpec.newBuilder().setName("web").setRestartPolicy(policy).build(), DesiredState.RUNNING, 1,
        VmStatus.newBuilder().setPhase(phase).setRestarts(restarts).build(), Instant.EPOCH, Instant.EPOCH, "");
  }
}
