package io.mpqemu.controlplane.policy;

import io.mpqemu.v1.AgentVm;
import io.mpqemu.v1.Condition;
import io.mpqemu.v1.EventType;
import io.mpqemu.v1.Phase;
import io.mpqemu.v1.ProcessRole;
import io.mpqemu.v1.ProcessStatus;
import io.mpqemu.v1.VmEvent;
import io.mpqemu.v1.VmStatus;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/** How what a node reports about a VM (an event, or its answer to a call) folds into the VM's status. */
public final class StatusFold {

  /** Phases in which a VM occupies its node: it is launched there and not yet ended. */
  private static final Set<Phase> ACTIVE = Set.of(Phase.PHASE_LAUNCHING, Phase.PHASE_RUNNING, Phase.PHASE_PAUSED,
      Phase.PHASE_STOPPING);
  /** Events after which a VM no longer runs on its node. */
  private static final Set<EventType> ENDS_A_RUN = Set.of(EventType.VM_FAILED, EventType.LAUNCH_FAILED,
      EventType.VM_STOPPED, EventType.LAUNCH_ABANDONED, EventType.LOST_WHILE_DETACHED);

  /** The condition of a VM whose serial output matched its ready_pattern in this run. */
  public static final String GUEST_READY = "GuestReady";

  private StatusFold() {}

  public static boolean isActive(Phase phase) {
    return ACTIVE.contains(phase);
  }

  /** Whether the VM holds resources on its node: active there, or placed there and about to launch. */
  public static boolean occupiesNode(VmStatus status) {
    return !status.getNode().isEmpty() && (isActive(status.getPhase()) || status.getPhase() == Phase.PHASE_SCHEDULED);
  }

  /** Whether the restart policy has a say after this event: the VM's run on its node ended. */
  public static boolean endsARun(EventType type) {
    return ENDS_A_RUN.contains(type);
  }

  /**
   * The status after an agent's event: its phase, node, reason and message; a launch starts with no
   * processes; a process the event names replaces the one of that name.
   */
  public static VmStatus ofEvent(VmStatus status, VmEvent e) {
    VmStatus.Builder next = status.toBuilder().setPhase(e.getPhase()).setNode(e.getNode()).setReason(e.getReason())
        .setMessage(e.getMessage());
    if (e.getType() == EventType.LAUNCH_STARTED) {
      next.clearProcesses();
    }
    if (e.getType() == EventType.LAUNCH_STARTED || !isActive(e.getPhase())) {
      next.clearConditions(); // they held of a run that is over; the node's next view says what holds now
    }
    if (e.hasProcess()) {
      upsert(next, e.getProcess());
    }
    if (e.getType() == EventType.GUEST_READY && isActive(e.getPhase())
        && next.getConditionsList().stream().noneMatch(c -> c.getType().equals(GUEST_READY))) {
      // as the node's own view says it: until the run ends
      next.addConditions(Condition.newBuilder().setType(GUEST_READY).setReason("ReadyPatternMatched")
          .setMessage(e.getMessage()));
    }
    return next.build();
  }

  /**
   * The status after a node answered with its view of the VM: that node, its processes, confinement, conditions and NICs,
   * and its phase, reason and message when the phase differs (otherwise ours, which may say more).
   */
  public static VmStatus ofAgentView(VmStatus status, String node, AgentVm view) {
    VmStatus.Builder next = status.toBuilder().setNode(node).clearProcesses().addAllProcesses(view.getProcessesList())
        .setConfinement(view.getConfinement()).clearConditions().addAllConditions(view.getConditionsList())
        .clearNics().addAllNics(view.getNicsList());
    if (view.getPhase() != status.getPhase()) {
      next.setPhase(view.getPhase()).setReason(view.getReason()).setMessage(view.getMessage());
    }
    return next.build();
  }

  /** Whether a node's view differs from the status in what an event should record (phase or process count). */
  public static boolean viewChangesPhase(VmStatus status, AgentVm view) {
    return view.getPhase() != status.getPhase() || view.getProcessesCount() != status.getProcessesCount();
  }

  /**
   * The status of a VM on a node that was just lost: never launched there (SCHEDULED) means placed again
   * elsewhere (PENDING, no node); active there means UNKNOWN until the node returns; otherwise unchanged.
   */
  public static Optional<VmStatus> afterNodeLost(VmStatus status, String node) {
    if (!status.getNode().equals(node)) {
      return Optional.empty();
    }
    if (status.getPhase() == Phase.PHASE_SCHEDULED) {
      return Optional.of(status.toBuilder().setPhase(Phase.PHASE_PENDING).setNode("").setReason("NodeLost")
          .setMessage("node " + node + " was lost before the VM was launched there; placing it again").build());
    }
    if (isActive(status.getPhase())) {
      return Optional.of(status.toBuilder().setPhase(Phase.PHASE_UNKNOWN).setReason("NodeLost")
          .setMessage("node " + node + " is lost; the VM may still run there").build());
    }
    return Optional.empty();
  }

  /**
   * Replaces the process of that name, or adds it where the node's own view lists it: device processes
   * first, the main QEMU last (the agent starts the main QEMU first, so events alone would list it first).
   */
  private static void upsert(VmStatus.Builder status, ProcessStatus p) {
    for (int i = 0; i < status.getProcessesCount(); i++) {
      if (status.getProcesses(i).getName().equals(p.getName())) {
        status.setProcesses(i, p);
        return;
      }
    }
    List<ProcessStatus> listed = new ArrayList<>(status.getProcessesList());
    int at = listed.size();
    if (!isMain(p)) {
      for (int i = 0; i < listed.size(); i++) {
        if (isMain(listed.get(i))) {
          at = i;
          break;
        }
      }
    }
    listed.add(at, p);
    status.clearProcesses().addAllProcesses(listed);
  }

  private static boolean isMain(ProcessStatus p) {
    return p.getRole() == ProcessRole.PROCESS_ROLE_MAIN || p.getName().equals("main");
  }
}
