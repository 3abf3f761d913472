package io.mpqemu.agent.vm;

import static org.assertj.core.api.Assertions.assertThat;

import io.mpqemu.v1.AgentVm;
import io.mpqemu.v1.EventType;
import io.mpqemu.v1.Phase;
import io.mpqemu.v1.ProcessStatus;
import io.mpqemu.v1.VmEvent;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

@DisplayName("Stopping a VM escalates from the power button to quit to SIGKILL, on a fake clock")
class VmStopEscalationTest {

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
  @DisplayName("a guest that ignores the power button and a QEMU that ignores quit are killed, each step after its deadline")
  void powerdownThenQuitThenKill() {
    CompletableFuture<AgentVm> stop = f.start(() -> sup.stop(Duration.ZERO, false));
    f.awaitEvent(EventType.POWERDOWN_SENT);
    assertThat(f.pendingTimers()).as("the configured grace period").containsExactly(SupervisorFixture.STOP_TIMEOUT);

    f.advance(SupervisorFixture.STOP_TIMEOUT.minusMillis(1));
    assertThat(f.types()).doesNotContain(EventType.QUIT_SENT);
    f.advance(Duration.ofMillis(1));
    f.awaitEvent(EventType.QUIT_SENT);
    assertThat(f.pendingTimers()).as("the exit deadline").containsExactly(SupervisorFixture.EXIT_DEADLINE);

    f.advance(SupervisorFixture.EXIT_DEADLINE);
    VmEvent kill = f.awaitEvent(EventType.KILL_SENT);
    AgentVm stopped = SupervisorFixture.join(stop);

    assertThat(kill.getMessage()).isEqualTo("main QEMU did not quit within 5 s; sending SIGKILL to pid " + f.processes.main().pid());
    assertThat(f.qmp.commands()).endsWith("system_powerdown", "quit");
    assertThat(stopped.getPhase()).isEqualTo(Phase.PHASE_STOPPED);
    assertThat(stopped.getReason()).isEqualTo("Stopped");
    assertThat(stopped.getMessage()).isEqualTo("main QEMU did not quit within 5 s; killed; device processes exited within 5 s");
    assertThat(f.typesFrom(EventType.STOP_REQUESTED)).startsWith(EventType.STOP_REQUESTED, EventType.POWERDOWN_SENT,
        EventType.QUIT_SENT, EventType.KILL_SENT).endsWith(EventType.VM_STOPPED);
    f.processes.assertNoneRunning();
  }

  @Test
  @DisplayName("a guest that powers off within the grace period stops without quit, and no timer is left behind")
  void guestPowersOff() {
    f.qmp.onCommand("system_powerdown", () -> f.processes.main().exit(0));

    AgentVm stopped = f.await(() -> sup.stop(Duration.ofSeconds(3), false));

    assertThat(stopped.getMessage()).isEqualTo("guest powered off after system_powerdown; device processes exited within 5 s");
    assertThat(f.types()).doesNotContain(EventType.QUIT_SENT, EventType.KILL_SENT);
    assertThat(f.events).filteredOn(e -> e.getType() == EventType.POWERDOWN_SENT).extracting(VmEvent::getMessage)
        .containsExactly("system_powerdown sent, waiting up to 3 s");
    assertThat(f.pendingTimers()).isEmpty();
  }

  @Test
  @DisplayName("a guest that ignores the power button ends with quit once the grace period is over")
  void quitAfterGrace() {
    f.qmp.onCommand("quit", () -> f.processes.main().exit(0));
    CompletableFuture<AgentVm> stop = f.start(() -> sup.stop(Duration.ofMillis(1500), false));
    f.awaitEvent(EventType.POWERDOWN_SENT);

    f.advance(Duration.ofMillis(1500));

    AgentVm stopped = SupervisorFixture.join(stop);
    assertThat(stopped.getMessage()).startsWith("guest ignored the power button; main QEMU quit");
    assertThat(f.events).filteredOn(e -> e.getType() == EventType.QUIT_SENT).extracting(VmEvent::getMessage)
        .containsExactly("guest did not power off within 1500 ms; sending quit");
    assertThat(f.types()).doesNotContain(EventType.KILL_SENT);
  }

  @Test
  @DisplayName("a forced stop kills at once, without the power button, and reports the signal")
  void forced() {
    AgentVm stopped = f.await(() -> sup.stop(Duration.ZERO, true));

    assertThat(f.typesFrom(EventType.STOP_REQUESTED)).startsWith(EventType.STOP_REQUESTED, EventType.KILL_SENT)
        .doesNotContain(EventType.POWERDOWN_SENT);
    assertThat(stopped.getProcessesList()).filteredOn(p -> p.getName().equals("main"))
        .extracting(ProcessStatus::getSignal).containsExactly("SIGKILL");
    assertThat(f.qmp.commands()).doesNotContain("system_powerdown", "quit");
    assertThat(f.store.paths("vm-1").qmpSocket()).as("the agent's QMP socket goes with the main QEMU").doesNotExist();
  }

  @Test
  @DisplayName("a device process still alive after the exit deadline is killed, and the stop says so")
  void lingeringDeviceKilled() {
    f.processes.devicesIgnoreMainExit();
    CompletableFuture<AgentVm> stop = f.start(() -> sup.stop(Duration.ZERO, true));
    f.awaitEvent(EventType.KILL_SENT);
    f.awaitEvent(EventType.PROCESS_EXITED);
    assertThat(f.processes.device().isAlive()).isTrue();

    f.advance(SupervisorFixture.EXIT_DEADLINE);

    VmEvent kill = f.awaitEvent(EventType.KILL_SENT);
    assertThat(kill.getProcess().getName()).isEqualTo("lsi0");
    assertThat(SupervisorFixture.join(stop).getMessage())
        .endsWith("device process(es) [lsi0] killed after the 5 s deadline");
  }

  @Test
  @DisplayName("a main QEMU that survives SIGKILL fails the VM (KillFailed) after 10 s, naming it")
  void killFails() {
    f.processes.main().survivesKill();
    CompletableFuture<AgentVm> stop = f.start(() -> sup.stop(Duration.ZERO, true));
    f.awaitEvent(EventType.KILL_SENT);

    f.advance(Teardown.AFTER_SIGKILL);

    AgentVm failed = SupervisorFixture.join(stop);
    assertThat(failed.getPhase()).isEqualTo(Phase.PHASE_FAILED);
    assertThat(failed.getReason()).isEqualTo("KillFailed");
    assertThat(failed.getMessage()).contains("did not die after SIGKILL").contains("main (pid " + f.processes.main().pid() + ")");
    assertThat(f.store.paths("vm-1").qmpSocket()).as("kept while a main QEMU may still serve it").exists();
  }
}
