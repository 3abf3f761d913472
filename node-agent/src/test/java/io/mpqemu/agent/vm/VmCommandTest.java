package io.mpqemu.agent.vm;

import static org.assertj.core.api.Assertions.assertThat;

import io.mpqemu.agent.images.OpenImages;
import io.mpqemu.agent.process.ExitStatus;
import io.mpqemu.v1.Phase;
import io.mpqemu.v1.VmSpec;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

@DisplayName("Each command says in which states it may run")
class VmCommandTest {

  private static Lifecycle running() {
    Lifecycle s = new Lifecycle();
    s.beginLaunch();
    s.launched();
    return s;
  }

  private static Lifecycle stopped() {
    Lifecycle s = running();
    s.beginStop();
    s.finish(Phase.PHASE_STOPPED, "Stopped", "");
    return s;
  }

  @Test
  @DisplayName("delete without force is refused while the VM runs, with the sentence the API answers")
  void deleteNeedsAnEndedVm() {
    VmException refused = new VmCommand.Delete(false).refusal("vm-1", running());

    assertThat(refused.kind()).isEqualTo(VmException.Kind.WRONG_PHASE);
    assertThat(refused).hasMessage("VM vm-1 is running; stop it first, or delete with force");
    assertThat(new VmCommand.Delete(true).refusal("vm-1", running())).isNull();
    assertThat(new VmCommand.Delete(false).refusal("vm-1", stopped())).isNull();
  }

  @Test
  @DisplayName("launch and stop run in every phase: on a VM that is up or ended they answer as it is")
  void launchAndStopAlwaysRun() {
    VmCommand.Launch launch = new VmCommand.Launch(VmSpec.getDefaultInstance(), 1, OpenImages.none());
    VmCommand.Stop stop = new VmCommand.Stop(Duration.ZERO, false);
    for (Lifecycle s : new Lifecycle[] {new Lifecycle(), running(), stopped()}) {
      assertThat(launch.refusal("vm-1", s)).isNull();
      assertThat(stop.refusal("vm-1", s)).isNull();
    }
  }

  @Test
  @DisplayName("ending a VM after a process exit is refused once a stop queued before it has ended the VM")
  void endAfterExitOnlyWhileUp() {
    VmCommand.EndAfterExit end = new VmCommand.EndAfterExit(null, ExitStatus.ofExitValue(1));

    assertThat(end.refusal("vm-1", running())).isNull();
    assertThat(end.refusal("vm-1", stopped()).kind()).isEqualTo(VmException.Kind.WRONG_PHASE);
    assertThat(new VmCommand.FinishStop().refusal("vm-1", stopped()).kind()).isEqualTo(VmException.Kind.WRONG_PHASE);
  }

  @Test
  @DisplayName("every command is refused on a forgotten VM (NOT_FOUND) and once the agent is stopping (UNAVAILABLE)")
  void forgottenAndDetached() {
    Lifecycle forgotten = stopped();
    forgotten.forget();
    Lifecycle detached = running();
    detached.detach();

    VmException notFound = new VmCommand.Stop(Duration.ZERO, true).refusal("vm-1", forgotten);
    VmException unavailable = new VmCommand.Delete(true).refusal("vm-1", detached);

    assertThat(notFound.kind()).isEqualTo(VmException.Kind.NOT_FOUND);
    assertThat(notFound).hasMessage("VM vm-1 does not exist on this node");
    assertThat(unavailable.kind()).isEqualTo(VmException.Kind.UNAVAILABLE);
    assertThat(unavailable).hasMessage("the agent is stopping");
  }
}
