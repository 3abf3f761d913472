package io.mpqemu.agent.api;

import io.mpqemu.spec.NicRules;
import io.mpqemu.v1.AgentVm;
import io.mpqemu.v1.Nic;
import io.mpqemu.v1.NicPlacement;
import io.mpqemu.v1.NicStatus;
import io.mpqemu.v1.PortForward;
import java.util.List;
import java.util.function.Function;

/**
 * A VM as the API answers it: what the agent records, with what follows from it added at the edge (the
 * conditions that hold, and the NICs with the node's defaults filled in). Pure.
 */
final class VmViews {

  private VmViews() {}

  static AgentVm with(AgentVm vm) {
    return with(vm, mac -> List.of());
  }

  /** The same, with each NIC's addresses as {@code addressesOfMac} knows them (the node's neighbour table). */
  static AgentVm with(AgentVm vm, Function<String, List<String>> addressesOfMac) {
    return VmConditions.with(vm).toBuilder().clearNics()
        .addAllNics(nics(vm.getVmId(), vm.getSpec().getNicsList(), addressesOfMac)).build();
  }

  static List<NicStatus> nics(String vmId, List<Nic> nics, Function<String, List<String>> addressesOfMac) {
    return nics.stream().map(n -> {
      String mac = NicRules.macOf(vmId, n);
      return NicStatus.newBuilder().setId(n.getId()).setModel(NicRules.modelOf(n)).setMac(mac)
          .setNetwork(NicRules.networkOf(n))
          .setPlacement(NicRules.inDeviceProcess(n) ? NicPlacement.DEVICE_PROCESS : NicPlacement.MAIN)
          .addAllForwards(n.getPortForwardsList().stream().map(VmViews::forward).toList())
          .addAllAddresses(addressesOfMac.apply(mac)).build();
    }).toList();
  }

  private static String forward(PortForward f) {
    return NicRules.protocolOf(f) + " " + NicRules.hostAddressOf(f) + ":" + f.getHostPort() + " -> " + f.getGuestPort();
  }
}
