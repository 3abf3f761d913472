package io.mpqemu.controlplane.policy;

import static org.assertj.core.api.Assertions.assertThat;

import io.mpqemu.v1.AgentVm;
import io.mpqemu.v1.EventType;
import io.mpqemu.v1.Phase;
import io.mpqemu.v1.ProcessRole;
import io.mpqemu.v1.ProcessStatus;
import io.mpqemu.v1.VmEvent;
import io.mpqemu.v1.VmStatus;
import java.util.List;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

class StatusFoldTest {

  private static final VmStatus RUNNING = VmStatus.newBuilder().setPhase(Phase.PHASE_RUNNING).setNode("node-a")
      .setReason("Launched").setRestarts(2).setLastEventSeq(7)
      .addProcesses(ProcessStatus.newBuilder().setName("main").setPid(10))
      .addProcesses(ProcessStatus.newBuilder().setName("lsi0").setPid(11)).build();

  @Test
  @DisplayName("an event sets phase, node, reason and message, replaces the process it names, and keeps the rest")
  void eventFolds() {
    VmStatus after = StatusFold.ofEvent(RUNNING, VmEvent.newBuilder().setType(EventType.PROCESS_EXITED)
        .setPhase(Phase.PHASE_FAILED).setNode("node-a").setReason("DeviceExited").setMessage("lsi0 exited")
        .setProcess(ProcessStatus.newBuilder().setName("lsi0").setPid(11).setExitStatus(1)).build());

    assertThat(after.getPhase()).isEqualTo(Phase.PHASE_FAILED);
    assertThat(after.getReason()).isEqualTo("DeviceExited");
    assertThat(after.getProcessesList()).extracting(ProcessStatus::getName).containsExactly("main", "lsi0");
    assertThat(after.getProcesses(1).getExitStatus()).isEqualTo(1);
    assertThat(after.getRestarts()).isEqualTo(2);
    assertThat(after.getLastEventSeq()).isEqualTo(7);
  }

  @Test
  @DisplayName("processes started during a launch are listed as the node lists them, devices first and the main QEMU"
      + " last, though the main QEMU starts first")
  void processesInTheNodesOrder() {
    VmStatus s = StatusFold.ofEvent(RUNNING, VmEvent.newBuilder().setType(EventType.LAUNCH_STARTED)
        .setPhase(Phase.PHASE_LAUNCHING).setNode("node-a").build());
    for (ProcessStatus p : List.of(ProcessStatus.newBuilder().setName("main").setRole(ProcessRole.PROCESS_ROLE_MAIN).build(),
        ProcessStatus.newBuilder().setName("lsi0").setRole(ProcessRole.PROCESS_ROLE_DEVICE).build(),
        ProcessStatus.newBuilder().setName("nvme0").setRole(ProcessRole.PROCESS_ROLE_DEVICE).build())) {
      s = StatusFold.ofEvent(s, VmEvent.newBuilder().setType(EventType.PROCESS_STARTED).setPhase(Phase.PHASE_LAUNCHING)
          .setNode("node-a").setProcess(p).build());
    }

    assertThat(s.getProcessesList()).extracting(ProcessStatus::getName).containsExactly("lsi0", "nvme0", "main");
  }

  @Test
  @DisplayName("GUEST_READY adds the GuestReady condition, once, for the run; a stop clears it")
  void guestReady() {
    VmEvent ready = VmEvent.newBuilder().setType(EventType.GUEST_READY).setPhase(Phase.PHASE_RUNNING).setNode("node-a")
        .setReason("GuestReady").setMessage("the serial output matched ready_pattern 'login:'").build();
    VmStatus after = StatusFold.ofEvent(RUNNING, ready);
    assertThat(after.getConditionsList()).singleElement().satisfies(c -> {
      assertThat(c.getType()).isEqualTo("GuestReady");
      assertThat(c.getMessage()).contains("login:");
    });
    assertThat(after.getPhase()).isEqualTo(Phase.PHASE_RUNNING);
    assertThat(StatusFold.ofEvent(after, VmEvent.newBuilder().setType(EventType.VM_STOPPED)
        .setPhase(Phase.PHASE_STOPPED).build()).getConditionsList()).isEmpty();
  }

  @Test
  @DisplayName("a launch starts with no processes")
  void launchStartsClean() {
    VmStatus after = StatusFold.ofEvent(RUNNING, VmEvent.newBuilder().setType(EventType.LAUNCH_STARTED)
        .setPhase(Phase.PHASE_LAUNCHING).setNode("node-a").build());
    assertThat(after.getProcessesList()).isEmpty();
  }

  @Test
  @DisplayName("a node's conditions come with its answer and last while the run does: an event that ends it, or a new"
      + " launch, clears them")
  void conditionsFollowTheRun() {
    io.mpqemu.v1.Condition tcg = io.mpqemu.v1.Condition.newBuilder().setType("DeviceInterruptsNotDelivered")
        .setReason("Tcg").build();
    VmStatus told = StatusFold.ofAgentView(RUNNING, "node-a", AgentVm.newBuilder().setPhase(Phase.PHASE_RUNNING)
        .addConditions(tcg).build());
    assertThat(told.getConditionsList()).containsExactly(tcg);
    assertThat(StatusFold.ofAgentView(told, "node-a", AgentVm.newBuilder().setPhase(Phase.PHASE_RUNNING).build())
        .getConditionsList()).as("a view without it: no longer holds").isEmpty();
    assertThat(StatusFold.ofEvent(told, VmEvent.newBuilder().setType(EventType.GUEST_RESET).setPhase(Phase.PHASE_RUNNING)
        .build()).getConditionsList()).as("the run goes on").containsExactly(tcg);
    assertThat(StatusFold.ofEvent(told, VmEvent.newBuilder().setType(EventType.VM_STOPPED).setPhase(Phase.PHASE_STOPPED)
        .build()).getConditionsList()).isEmpty();
    assertThat(StatusFold.ofEvent(told, VmEvent.newBuilder().setType(EventType.LAUNCH_STARTED)
        .setPhase(Phase.PHASE_LAUNCHING).build()).getConditionsList()).isEmpty();
  }

  @Test
  @DisplayName("a node's answer brings processes and node in line; phase, reason and message only when the phase differs")
  void answerFolds() {
    AgentVm same = AgentVm.newBuilder().setPhase(Phase.PHASE_RUNNING).setReason("Other").setMessage("other words")
        .addProcesses(ProcessStatus.newBuilder().setName("main").setPid(10).setCpuSeconds(3)).build();
    VmStatus quiet = StatusFold.ofAgentView(RUNNING, "node-a", same);
    assertThat(quiet.getReason()).isEqualTo("Launched");
    assertThat(quiet.getProcessesList()).singleElement().satisfies(p -> assertThat(p.getCpuSeconds()).isEqualTo(3));
    assertThat(StatusFold.viewChangesPhase(RUNNING, same)).as("a process fewer is a change to record").isTrue();

    VmStatus moved = StatusFold.ofAgentView(RUNNING, "node-a", same.toBuilder().setPhase(Phase.PHASE_STOPPED).build());
    assertThat(moved.getPhase()).isEqualTo(Phase.PHASE_STOPPED);
    assertThat(moved.getReason()).isEqualTo("Other");
  }

  @Test
  @DisplayName("losing the node makes an active VM UNKNOWN, sends a SCHEDULED one back to PENDING with no node, and leaves the rest")
  void nodeLost() {
    assertThat(StatusFold.afterNodeLost(RUNNING, "node-a")).hasValueSatisfying(s -> {
      assertThat(s.getPhase()).isEqualTo(Phase.PHASE_UNKNOWN);
      assertThat(s.getNode()).isEqualTo("node-a");
    });
    VmStatus scheduled = RUNNING.toBuilder().setPhase(Phase.PHASE_SCHEDULED).build();
    assertThat(StatusFold.afterNodeLost(scheduled, "node-a")).hasValueSatisfying(s -> {
      assertThat(s.getPhase()).isEqualTo(Phase.PHASE_PENDING);
      assertThat(s.getNode()).isEmpty();
    });
    assertThat(StatusFold.afterNodeLost(RUNNING.toBuilder().setPhase(Phase.PHASE_STOPPED).build(), "node-a")).isEmpty();
    assertThat(StatusFold.afterNodeLost(RUNNING, "node-b")).isEmpty();
  }

  @Test
  @DisplayName("the runs that end: failed, stopped, abandoned, lost while detached; not a pause")
  void endsARun() {
    assertThat(StatusFold.endsARun(EventType.VM_FAILED)).isTrue();
    assertThat(StatusFold.endsARun(EventType.VM_STOPPED)).isTrue();
    assertThat(StatusFold.endsARun(EventType.LOST_WHILE_DETACHED)).isTrue();
    assertThat(StatusFold.endsARun(EventType.GUEST_PAUSED)).isFalse();
  }
}
