package io.mpqemu.agent.api;

import io.mpqemu.spec.NicRules;
import io.mpqemu.v1.AgentVm;
import io.mpqemu.v1.Nic;
import io.mpqemu.v1.VmSpec;
import java.util.List;
import java.util.Optional;

/** What a VM's NICs may not share with the other VMs of the node: their MAC addresses. Pure. */
final class NicConflicts {

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
    return Optional.empty();
  }
}
