package io.mpqemu.agent.api;

import static org.assertj.core.api.Assertions.assertThat;

import io.mpqemu.v1.AgentVm;
import io.mpqemu.v1.Nic;
import io.mpqemu.v1.NicPlacement;
import io.mpqemu.v1.NicStatus;
import io.mpqemu.v1.PortForward;
import io.mpqemu.v1.VmSpec;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

class VmViewsTest {

  @Test
  @DisplayName("each NIC is reported with the node's defaults filled in: model, derived MAC, network, placement, forwards")
  void nics() {
    AgentVm vm = AgentVm.newBuilder().setVmId("vm-1").setSpec(VmSpec.newBuilder().setName("web")
        .addNics(Nic.newBuilder().setId("net0").addPortForwards(PortForward.newBuilder().setHostPort(8080)
            .setGuestPort(80)).addPortForwards(PortForward.newBuilder().setProtocol("udp").setHostPort(5353)
            .setGuestPort(53)))
        .addNics(Nic.newBuilder().setId("net1").setPlacement(NicPlacement.MAIN).setMac("52:54:00:00:00:09")
            .setNetwork("lan"))).build();

    AgentVm view = VmViews.with(vm);

    assertThat(view.getNicsList()).hasSize(2);
    NicStatus first = view.getNics(0);
    assertThat(first.getModel()).isEqualTo("e1000e");
    assertThat(first.getMac()).matches("02(:[0-9a-f]{2}){5}");
    assertThat(first.getNetwork()).isEqualTo("default");
    assertThat(first.getPlacement()).isEqualTo(NicPlacement.DEVICE_PROCESS);
    assertThat(first.getForwardsList()).containsExactly("tcp 127.0.0.1:8080 -> 80", "udp 127.0.0.1:5353 -> 53");
    NicStatus second = view.getNics(1);
    assertThat(second.getModel()).isEqualTo("virtio-net-pci");
    assertThat(second.getMac()).isEqualTo("52:54:00:00:00:09");
    assertThat(second.getPlacement()).isEqualTo(NicPlacement.MAIN);
    assertThat(VmViews.with(view).getNicsList()).as("applied twice, the same").isEqualTo(view.getNicsList());
  }
}
