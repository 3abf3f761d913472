package io.mpqemu.agent.api;

import io.mpqemu.spec.NicRules;
import io.mpqemu.v1.AgentVm;
import io.mpqemu.v1.Nic;
import io.mpqemu.v1.NicPlacement;
import io.mpqemu.v1.NicStatus;
import io.mpqemu.v1.PortForward;
import java.util.List;

/**
 * A VM as the API answers it: what the agent records, with what follows from it added at the edge (the
 * conditions that hold, and the NICs with the node's defaults filled in). Pure.
 */
final class VmViews {

  private VmViews() {}

  static AgentVm with(AgentVm vm) {
    return VmConditions.with(vm).toBuilder().clearNics().addAllNics(nics(vm.getVmId(), vm.getSpec().getNicsList()))
        .build();
  }

  static List<NicStatus> nics(String vmId, List<Nic> nics) {
    return nics.stream().map(n -> NicStatus.newBuilder().setId(n.getId()).setModel(NicRules.modelOf(n))
        .setMac(NicRules.macOf(vmId, n)).setNetwork(NicRules.networkOf(n))
        .setPlacement(NicRules.inDeviceProcess(n) ? NicPlacement.DEVICE_PROCESS : NicPlacement.MAIN)
        .addAllForwards(n.getPortForwardsList().stream().map(VmViews::forward).toList()).build()).toList();
  }

  private static String forward(PortForward f) {
    return NicRules.protocolOf(f) + " " + NicRules.hostAddressOf(f) + ":" + f.getHostPort() + " -> " + f.getGuestPort();
  }
}
