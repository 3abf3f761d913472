package io.mpqemu.agent.vm;

import static org.assertj.core.api.Assertions.assertThat;

import io.mpqemu.agent.state.ProcessRecord;
import io.mpqemu.agent.state.VmPaths;
import io.mpqemu.agent.state.VmRecord;
import io.mpqemu.v1.AgentVm;
import io.mpqemu.v1.EventType;
import io.mpqemu.v1.Phase;
import io.mpqemu.v1.VmEvent;
import io.mpqemu.v1.VmSpec;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

@DisplayName("Adopting, after an agent restart, the VMs a previous agent recorded")
class VmAdoptionTest {

  private SupervisorFixture f;
  private final VmSpec spec = SupervisorFixture.oneDevice("web");
  private FakeProcess device;
  private FakeProcess main;

  @BeforeEach
  void start() throws Exception {
    f = new SupervisorFixture();
    device = f.processes.leftOver(List.of("qemu-system-x86_64", "-machine", "x-remote"));
    main = f.processes.leftOver(List.of("qemu-system-x86_64", "-S"));
  }

  @AfterEach
  void close() throws Exception {
    f.close();
  }

  private VmRecord recorded(Phase phase, boolean launchComplete) throws IOException {
    VmPaths paths = f.store.paths("vm-1");
    f.store.createVmDir(paths);
    VmRecord rec = new VmRecord("vm-1", spec, 3, phase, "Running", "", 7, launchComplete, "tcg",
        Instant.parse("2029-12-31T23:00:01Z"), null, List.of(new ProcessRecord("lsi0", device.pid(), device.startedAt(), 0),
        new ProcessRecord(VmPaths.MAIN, main.pid(), main.startedAt(), 0)), 0, 0);
    f.store.write(paths, rec);
    return rec;
  }

  private VmSupervisor adopt(VmRecord rec) {
    VmSupervisor sup = f.supervisor("vm-1", rec.spec());
    f.await(() -> sup.adopt(rec, List.of()));
    return sup;
  }

  @Test
  @DisplayName("a VM whose main QEMU died while no agent ran is reported LOST_WHILE_DETACHED and FAILED, and its rest is killed")
  void lostWhileDetached() throws Exception {
    f.processes.devicesIgnoreMainExit();
    main.exit(0);
    VmRecord rec = recorded(Phase.PHASE_RUNNING, true);

    VmSupervisor sup = adopt(rec);

    VmEvent lost = f.awaitEvent(EventType.LOST_WHILE_DETACHED);
    assertThat(lost.getMessage()).isEqualTo("process(es) [main (pid " + main.pid() + ")] exited while no agent was watching");
    assertThat(lost.getVmSeq()).as("the sequence goes on from the record").isEqualTo(8);
    VmEvent failed = f.awaitEvent(EventType.VM_FAILED);
    assertThat(failed.getReason()).isEqualTo("ExitedWhileDetached");
    assertThat(device.kills()).isEqualTo(1);
    assertThat(device.isAlive()).isFalse();
    AgentVm vm = f.onLoop(sup::toAgentVm);
    assertThat(vm.getPhase()).isEqualTo(Phase.PHASE_FAILED);
    assertThat(f.qmpConnects()).isZero();
  }

  @Test
  @DisplayName("a VM whose processes all live is supervised again after QMP answers (ADOPTED), and its events go on")
  void adoptsRunning() throws Exception {
    f.qmp.answering("query-status", new JsonObject().put("running", true).put("status", "running"));

    VmSupervisor sup = adopt(recorded(Phase.PHASE_RUNNING, true));

    VmEvent adopted = f.awaitEvent(EventType.ADOPTED);
    assertThat(adopted.getMessage()).isEqualTo("found running after an agent restart and supervised again: [lsi0="
        + device.pid() + ", main=" + main.pid() + "]");
    assertThat(f.onLoop(sup::phase)).isEqualTo(Phase.PHASE_RUNNING);
    f.qmp.assertCommands("query-status");

    f.qmp.onCommand("quit", () -> main.exit(0));
    device.exit(128 + 9);
    assertThat(f.awaitEvent(EventType.VM_FAILED).getReason()).as("an adopted VM is supervised like a launched one")
        .isEqualTo("DeviceProcessExited");
  }

  @Test
  @DisplayName("a VM that was being stopped when the agent went away is stopped after adoption")
  void finishesStop() throws Exception {
    f.qmp.answering("query-status", new JsonObject().put("running", true))
        .onCommand("system_powerdown", () -> main.exit(0));

    adopt(recorded(Phase.PHASE_STOPPING, true));

    VmEvent stopped = f.awaitEvent(EventType.VM_STOPPED);
    assertThat(stopped.getMessage()).startsWith("guest powered off after system_powerdown");
    assertThat(f.typesFrom(EventType.ADOPTED)).startsWith(EventType.ADOPTED, EventType.STOP_REQUESTED);
  }

  @Test
  @DisplayName("a launch that the previous agent did not finish is undone (LAUNCH_ABANDONED) and the VM forgotten")
  void abandonsUnfinishedLaunch() throws Exception {
    VmSupervisor sup = adopt(recorded(Phase.PHASE_LAUNCHING, false));

    VmEvent abandoned = f.awaitEvent(EventType.LAUNCH_ABANDONED);
    assertThat(abandoned.getPhase()).isEqualTo(Phase.PHASE_FAILED);
    assertThat(abandoned.getMessage()).contains("killed 0 process(es) []").contains("removed its state directory");
    assertThat(f.vmDir("vm-1")).doesNotExist();
    assertThat(f.onLoop(sup::forgotten)).isTrue();
  }
}
