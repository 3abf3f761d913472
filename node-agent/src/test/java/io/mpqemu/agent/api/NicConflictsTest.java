package io.mpqemu.agent.api;

import static org.assertj.core.api.Assertions.assertThat;

import io.mpqemu.v1.AgentVm;
import io.mpqemu.v1.Nic;
import io.mpqemu.v1.Phase;
import io.mpqemu.v1.PortForward;
import io.mpqemu.v1.VmSpec;
import java.util.List;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

class NicConflictsTest {

  private static VmSpec forwarding(String name, int hostPort, String protocol) {
    return VmSpec.newBuilder().setName(name).addNics(Nic.newBuilder().setId("net0")
        .addPortForwards(PortForward.newBuilder().setHostPort(hostPort).setGuestPort(80).setProtocol(protocol))).build();
  }

  private static AgentVm vm(String id, VmSpec spec, Phase phase) {
    return AgentVm.newBuilder().setVmId(id).setSpec(spec).setPhase(phase).build();
  }

  @Test
  @DisplayName("a host port another VM of the node forwards while it has processes, or is being launched, is refused")
  void portsHeldByOtherVms() {
    VmSpec mine = forwarding("b", 8080, "");
    for (Phase holding : List.of(Phase.PHASE_UNSPECIFIED, Phase.PHASE_LAUNCHING, Phase.PHASE_RUNNING,
        Phase.PHASE_STOPPING)) {
      assertThat(NicConflicts.of("vm-b", mine, List.of(vm("vm-a", forwarding("a", 8080, "tcp"), holding))))
          .as(holding.name()).contains("nics[0].port_forwards[0]: host port tcp 127.0.0.1:8080 is forwarded by NIC net0"
              + " of VM vm-a on this node; choose another");
    }
  }

  @Test
  @DisplayName("a stopped or failed VM's forwards hold no port; another port, protocol or the VM itself is no clash")
  void noClash() {
    VmSpec mine = forwarding("b", 8080, "tcp");
    assertThat(NicConflicts.of("vm-b", mine, List.of(vm("vm-a", forwarding("a", 8080, "tcp"), Phase.PHASE_STOPPED),
        vm("vm-c", forwarding("c", 8080, "tcp"), Phase.PHASE_FAILED)))).isEmpty();
    assertThat(NicConflicts.of("vm-b", mine, List.of(vm("vm-a", forwarding("a", 8081, "tcp"), Phase.PHASE_RUNNING),
        vm("vm-c", forwarding("c", 8080, "udp"), Phase.PHASE_RUNNING)))).isEmpty();
    assertThat(NicConflicts.of("vm-b", mine, List.of(vm("vm-b", mine, Phase.PHASE_RUNNING)))).as("itself").isEmpty();
  }
}
