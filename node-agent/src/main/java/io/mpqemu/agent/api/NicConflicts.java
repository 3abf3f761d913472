package io.mpqemu.agent.api;

import io.mpqemu.spec.NicRules;
import io.mpqemu.v1.AgentVm;
import io.mpqemu.v1.Nic;
import io.mpqemu.v1.Phase;
import io.mpqemu.v1.PortForward;
import io.mpqemu.v1.VmSpec;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * What a VM's NICs may not share with the other VMs of the node: their MAC addresses, and the host ports
 * their forwards hold while those VMs have processes (or are being launched). Checked on the agent's loop,
 * where launches are registered before any of their work starts, so two launches that ask for one port at
 * the same moment cannot both pass. Pure.
 */
final class NicConflicts {

  /** Phases in which a VM has no process, so its forwards hold no port. */
  private static final Set<Phase> ENDED = Set.of(Phase.PHASE_STOPPED, Phase.PHASE_FAILED, Phase.PHASE_DELETED);

  private NicConflicts() {}

  /** Why {@code spec}'s NICs clash with another VM of {@code known}, if they do. */
  static Optional<String> of(String vmId, VmSpec spec, List<AgentVm> known) {
    for (int i = 0; i < spec.getNicsCount(); i++) {
      String mac = NicRules.macOf(vmId, spec.getNics(i));
      for (AgentVm other : known) {
        if (other.getVmId().equals(vmId)) {
          continue;
        }
        for (Nic theirs : other.getSpec().getNicsList()) {
          if (NicRules.macOf(other.getVmId(), theirs).equals(mac)) {
            return Optional.of("nics[" + i + "] would have MAC " + mac + ", which NIC " + theirs.getId() + " of VM "
                + other.getVmId() + " on this node has: a MAC is unique on a node; choose another or leave mac out");
          }
        }
      }
    }
    return forwards(vmId, spec, known);
  }

  private static Optional<String> forwards(String vmId, VmSpec spec, List<AgentVm> known) {
    for (int i = 0; i < spec.getNicsCount(); i++) {
      List<PortForward> mine = spec.getNics(i).getPortForwardsList();
      for (int k = 0; k < mine.size(); k++) {
        String port = hostPort(mine.get(k));
        for (AgentVm other : known) {
          if (other.getVmId().equals(vmId) || ENDED.contains(other.getPhase())) {
            continue;
          }
          for (Nic theirs : other.getSpec().getNicsList()) {
            if (theirs.getPortForwardsList().stream().anyMatch(f -> hostPort(f).equals(port))) {
              return Optional.of("nics[" + i + "].port_forwards[" + k + "]: host port " + port + " is forwarded by NIC "
                  + theirs.getId() + " of VM " + other.getVmId() + " on this node; choose another");
            }
          }
        }
      }
    }
    return Optional.empty();
  }

  /** "tcp 127.0.0.1:8080": what a forward holds on the host. */
  private static String hostPort(PortForward f) {
    return NicRules.protocolOf(f) + " " + NicRules.hostAddressOf(f) + ":" + f.getHostPort();
  }
}
