package io.mpqemu.agent.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import io.mpqemu.v1.AgentVm;
import io.mpqemu.v1.EventType;
import io.mpqemu.v1.Phase;
import io.mpqemu.v1.ProcessRole;
import io.mpqemu.v1.ProcessStatus;
import io.mpqemu.v1.VmEvent;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

@DisplayName("Supervising the processes of a running VM")
class SupervisionTest extends InProcessAgentTest {

  private long pidOf(AgentVm vm, String name) {
    return vm.getProcessesList().stream().filter(p -> p.getName().equals(name)).findFirst().orElseThrow().getPid();
  }

  @Test
  @DisplayName("a killed device process fails the VM, reported with its device id and exit status, and leaves no process")
  void killedDeviceFailsVm() throws Exception {
    String image = agent.bootImage("boot.img", "up", false);
    AgentVm vm = agent.launch("vm-dev", Specs.lsi("dev", image));
    long devicePid = pidOf(vm, "lsi0");

    ProcessHandle.of(devicePid).orElseThrow().destroyForcibly();

    VmEvent failed = agent.awaitBusEvent(e -> e.getVmId().equals("vm-dev") && e.getType() == EventType.VM_FAILED,
        Duration.ofSeconds(15));
    assertThat(failed.getPhase()).isEqualTo(Phase.PHASE_FAILED);
    assertThat(failed.getReason()).isEqualTo("DeviceProcessExited");
    assertThat(failed.getMessage()).contains("device lsi0").contains("pid " + devicePid).contains("killed by SIGKILL");
    VmEvent exited = agent.busEventsOf("vm-dev").stream()
        .filter(e -> e.getType() == EventType.PROCESS_EXITED && e.getProcess().getName().equals("lsi0")).findFirst().orElseThrow();
    assertThat(exited.getProcess().getPid()).isEqualTo(devicePid);
    assertThat(exited.getProcess().getExitStatus()).isEqualTo(128 + 9);
    assertThat(exited.getProcess().getSignal()).isEqualTo("SIGKILL");
    agent.awaitNoQemu(Duration.ofSeconds(2));
    AgentVm after = agent.get("vm-dev");
    assertThat(after.getPhase()).isEqualTo(Phase.PHASE_FAILED);
    assertThat(after.getReason()).isEqualTo("DeviceProcessExited");
  }

  @Test
  @DisplayName("killing the main QEMU ends the device processes within the deadline, and the event says so")
  void killedMainEndsDevices() throws Exception {
    String image = agent.bootImage("boot.img", "up", false);
    AgentVm vm = agent.launch("vm-main", Specs.lsi("main-kill", image));
    long mainPid = pidOf(vm, "main");
    long devicePid = pidOf(vm, "lsi0");

    ProcessHandle.of(mainPid).orElseThrow().destroyForcibly();

    VmEvent failed = agent.awaitBusEvent(e -> e.getVmId().equals("vm-main") && e.getType() == EventType.VM_FAILED,
        Duration.ofSeconds(15));
    assertThat(failed.getReason()).isEqualTo("MainProcessExited");
    assertThat(failed.getMessage()).contains("main QEMU (pid " + mainPid + ") killed by SIGKILL")
        .contains("device processes exited within 5 s");
    assertThat(ProcessHandle.of(devicePid)).isEmpty();
    VmEvent deviceExit = agent.busEventsOf("vm-main").stream()
        .filter(e -> e.getType() == EventType.PROCESS_EXITED && e.getProcess().getRole() == ProcessRole.PROCESS_ROLE_DEVICE)
        .findFirst().orElseThrow();
    assertThat(deviceExit.getProcess().getExitStatus()).as("the device process exits by itself, status 0").isZero();
    agent.awaitNoQemu(Duration.ofSeconds(1));
  }

  @Test
  @DisplayName("a graceful stop of a guest that ignores ACPI ends through the timeout path, each step reported")
  void gracefulStopTimesOut() throws Exception {
    String image = agent.bootImage("boot.img", "I ignore the power button", false);
    agent.launch("vm-acpi", Specs.lsi("acpi", image));

    long started = System.nanoTime();
    AgentVm stopped = agent.stop("vm-acpi", 1, false);
    Duration took = Duration.ofNanos(System.nanoTime() - started);

    assertThat(stopped.getPhase()).isEqualTo(Phase.PHASE_STOPPED);
    assertThat(stopped.getMessage()).contains("guest ignored the power button; main QEMU quit");
    assertThat(took).isGreaterThanOrEqualTo(Duration.ofSeconds(1));
    List<EventType> types = agent.busEventsOf("vm-acpi").stream().map(VmEvent::getType)
        .dropWhile(t -> t != EventType.STOP_REQUESTED).toList();
    assertThat(types).startsWith(EventType.STOP_REQUESTED, EventType.POWERDOWN_SENT, EventType.QUIT_SENT)
        .endsWith(EventType.VM_STOPPED)
        .containsOnlyOnce(EventType.VM_STOPPED)
        .doesNotContain(EventType.KILL_SENT, EventType.VM_FAILED);
    assertThat(stopped.getProcessesList()).extracting(ProcessStatus::getExitStatus).containsOnly(0);
    agent.awaitNoQemu(Duration.ofSeconds(1));
  }

  @Test
  @DisplayName("a guest that powers itself off is reported STOPPED with reason GuestShutdown")
  void guestPowerOff() throws Exception {
    String image = agent.bootImage("off.img", "bye", true);

    agent.launch("vm-off", Specs.lsi("off", image));

    VmEvent stopped = agent.awaitBusEvent(e -> e.getVmId().equals("vm-off") && e.getType() == EventType.VM_STOPPED,
        Duration.ofSeconds(15));
    assertThat(stopped.getReason()).isEqualTo("GuestShutdown");
    assertThat(agent.busEventsOf("vm-off")).extracting(VmEvent::getType).contains(EventType.GUEST_SHUTDOWN);
    assertThat(agent.console("vm-off")).contains("bye");
    agent.awaitNoQemu(Duration.ofSeconds(1));
  }

  @Test
  @DisplayName("a forced stop kills at once and reports the signal")
  void forcedStop() throws Exception {
    String image = agent.bootImage("boot.img", "up", false);
    agent.launch("vm-force", Specs.lsi("force", image));

    AgentVm stopped = agent.stop("vm-force", 0, true);

    assertThat(stopped.getPhase()).isEqualTo(Phase.PHASE_STOPPED);
    assertThat(stopped.getProcessesList()).filteredOn(p -> p.getName().equals("main"))
        .extracting(ProcessStatus::getSignal).containsExactly("SIGKILL");
    assertThat(agent.busEventsOf("vm-force")).extracting(VmEvent::getType).contains(EventType.KILL_SENT)
        .doesNotContain(EventType.POWERDOWN_SENT);
    agent.awaitNoQemu(Duration.ofSeconds(1));
  }
}
