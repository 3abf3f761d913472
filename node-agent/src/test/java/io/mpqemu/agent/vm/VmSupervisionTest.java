package io.mpqemu.agent.vm;

import static org.assertj.core.api.Assertions.assertThat;

import io.mpqemu.agent.images.OpenImages;
import io.mpqemu.v1.AgentVm;
import io.mpqemu.v1.EventType;
import io.mpqemu.v1.Phase;
import io.mpqemu.v1.VmEvent;
import io.vertx.core.json.JsonObject;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

@DisplayName("Supervising a running VM: process exits, guest events and refused commands")
class VmSupervisionTest {

  private SupervisorFixture f;
  private VmSupervisor sup;

  @BeforeEach
  void start() throws Exception {
    f = new SupervisorFixture();
    sup = f.running("vm-1", SupervisorFixture.oneDevice("web"));
  }

  @AfterEach
  void close() throws Exception {
    f.close();
  }

  @Test
  @DisplayName("a device process that exits while the VM runs fails it (DeviceProcessExited): the main QEMU is told to quit")
  void deviceExitFailsVm() {
    f.qmp.onCommand("quit", () -> f.processes.main().exit(0));
    long pid = f.processes.device().pid();

    f.processes.device().exit(1);

    VmEvent failed = f.awaitEvent(EventType.VM_FAILED);
    assertThat(failed.getPhase()).isEqualTo(Phase.PHASE_FAILED);
    assertThat(failed.getReason()).isEqualTo("DeviceProcessExited");
    assertThat(failed.getMessage()).isEqualTo("device lsi0 process (pid " + pid + ") exit status 1; main QEMU quit; "
        + "device processes exited within 5 s");
    assertThat(f.qmp.commands()).endsWith("quit");
    assertThat(f.qmp.isClosed()).isTrue();
    f.processes.assertNoneRunning();
    assertThat(f.onLoop(sup::toAgentVm).getReason()).isEqualTo("DeviceProcessExited");
  }

  @Test
  @DisplayName("a guest that shuts down ends STOPPED with reason GuestShutdown once its main QEMU exits")
  void guestShutdown() {
    f.onLoop(() -> f.qmp.emitEvent("SHUTDOWN", new JsonObject().put("guest", true).put("reason", "guest-shutdown")));
    f.processes.main().exit(0);

    VmEvent stopped = f.awaitEvent(EventType.VM_STOPPED);
    assertThat(stopped.getReason()).isEqualTo("GuestShutdown");
    assertThat(stopped.getMessage()).isEqualTo("guest shut down; main QEMU exited; device processes exited within 5 s");
    assertThat(f.types()).contains(EventType.GUEST_SHUTDOWN);
  }

  @Test
  @DisplayName("a guest that panicked fails the VM with reason GuestPanicked, even after a shutdown")
  void guestPanicked() {
    f.onLoop(() -> {
      f.qmp.emitEvent("GUEST_PANICKED", new JsonObject().put("action", "pause"));
      f.qmp.emitEvent("SHUTDOWN", new JsonObject().put("guest", true).put("reason", "guest-panic"));
    });
    f.processes.main().exit(0);

    VmEvent failed = f.awaitEvent(EventType.VM_FAILED);
    assertThat(failed.getReason()).isEqualTo("GuestPanicked");
  }

  @Test
  @DisplayName("the main QEMU exiting on its own fails the VM (MainProcessExited) with its status")
  void mainExit() {
    long pid = f.processes.main().pid();
    f.processes.main().exit(128 + 9);

    VmEvent failed = f.awaitEvent(EventType.VM_FAILED);
    assertThat(failed.getMessage()).startsWith("main QEMU (pid " + pid + ") killed by SIGKILL");
  }

  @Test
  @DisplayName("guest CPUs stopping and resuming move the VM between RUNNING and PAUSED")
  void pauseAndResume() {
    f.onLoop(() -> f.qmp.emitEvent("STOP", new JsonObject()));
    assertThat(f.onLoop(sup::phase)).isEqualTo(Phase.PHASE_PAUSED);
    f.onLoop(() -> f.qmp.emitEvent("RESUME", new JsonObject()));
    assertThat(f.onLoop(sup::phase)).isEqualTo(Phase.PHASE_RUNNING);
    assertThat(f.types()).containsSubsequence(EventType.GUEST_PAUSED, EventType.GUEST_RESUMED);
  }

  @Test
  @DisplayName("delete without force is refused while the VM runs; deleted, the VM refuses every command")
  void refusedCommands() {
    Throwable running = f.awaitFailure(() -> sup.delete(false));
    assertThat(running).isInstanceOfSatisfying(VmException.class,
        e -> assertThat(e.kind()).isEqualTo(VmException.Kind.WRONG_PHASE));
    assertThat(running).hasMessage("VM vm-1 is running; stop it first, or delete with force");

    f.await(() -> sup.delete(true));

    assertThat(f.awaitEvent(EventType.VM_DELETED).getPhase()).isEqualTo(Phase.PHASE_DELETED);
    assertThat(f.vmDir("vm-1")).doesNotExist();
    Throwable gone = f.awaitFailure(() -> sup.stop(Duration.ZERO, false));
    assertThat(gone).isInstanceOfSatisfying(VmException.class, e -> assertThat(e.kind()).isEqualTo(VmException.Kind.NOT_FOUND));
    assertThat(f.awaitFailure(() -> sup.stop(Duration.ofSeconds(-1), false))).isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  @DisplayName("once the agent lets go of the VM, commands are refused and process exits are ignored")
  void detached() {
    f.onLoop(sup::detach);
    int before = f.events.size();

    Throwable refused = f.awaitFailure(() -> sup.launch(SupervisorFixture.oneDevice("web"), 1, OpenImages.none()));
    f.processes.main().exit(0);
    AgentVm after = f.onLoop(sup::toAgentVm);

    assertThat(refused).isInstanceOfSatisfying(VmException.class, e -> assertThat(e.kind()).isEqualTo(VmException.Kind.UNAVAILABLE));
    assertThat(f.qmp.isClosed()).isTrue();
    assertThat(after.getPhase()).isEqualTo(Phase.PHASE_RUNNING);
    assertThat(f.events).hasSize(before);
  }
}
