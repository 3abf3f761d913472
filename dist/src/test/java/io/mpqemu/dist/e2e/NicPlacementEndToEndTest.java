package io.mpqemu.dist.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import io.mpqemu.agent.net.NodeNetworks;
import io.mpqemu.testing.Await;
import io.mpqemu.v1.DesiredState;
import io.mpqemu.v1.Nic;
import io.mpqemu.v1.NicPlacement;
import io.mpqemu.v1.NicStatus;
import io.mpqemu.v1.Phase;
import io.mpqemu.v1.PortForward;
import io.mpqemu.v1.Vm;
import io.mpqemu.v1.VmSpec;
import io.vertx.core.json.JsonObject;
import java.net.ServerSocket;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/**
 * NICs through the control plane: node-a defines only {@code default}, node-b also {@code lab} (user-mode,
 * restricted). A VM on {@code lab} goes to node-b although spreading alone would pick node-a; a VM on a network
 * no node defines waits PENDING saying which network is missing; the VM's status carries its NICs as the
 * node reports them.
 */
@DisplayName("Placement by network, and NICs in the control plane's VM status")
class NicPlacementEndToEndTest {

  private Fleet fleet;

  @BeforeEach
  void start() throws Exception {
    fleet = new Fleet()
        .startAgent("node-a", Map.of())
        .startAgent("node-b", Map.of(), c -> c.withNetworks(NodeNetworks.defaults().merge(new JsonObject()
            .put("lab", new JsonObject().put("type", "user").put("restrict", true)))))
        .startControlPlane();
    fleet.bootImage("boot.img", "a VM with a NIC");
  }

  @AfterEach
  void close() throws Exception {
    fleet.close();
  }

  @Test
  @DisplayName("a VM on lab runs on node-b with its NIC and forward in its status; one on a network nobody has waits")
  void placedByNetwork() throws Exception {
    int port;
    try (ServerSocket probe = new ServerSocket(0)) { // a port free now, for the forward
      port = probe.getLocalPort();
    }
    VmSpec onLab = Fleet.lsi("on-lab", "boot.img").toBuilder()
        .addNics(Nic.newBuilder().setId("net0").setNetwork("lab")
            .addPortForwards(PortForward.newBuilder().setHostPort(port).setGuestPort(22)))
        .build();
    Vm lab = fleet.create(onLab, DesiredState.RUNNING);
    Vm nowhere = fleet.create(Fleet.lsi("nowhere", "boot.img").toBuilder()
        .addNics(Nic.newBuilder().setId("net0").setNetwork("dmz")).build(), DesiredState.RUNNING);

    Vm running = fleet.awaitPhase(lab.getId(), Phase.PHASE_RUNNING, Duration.ofSeconds(30));
    assertThat(running.getStatus().getNode()).isEqualTo("node-b");
    Vm reported = Await.atMost(Duration.ofSeconds(10)).every(Duration.ofMillis(100)).until(() -> fleet.get(lab.getId()),
        vm -> vm.getStatus().getNicsCount() == 1, vm -> "no NIC in the status: " + vm.getStatus());
    NicStatus nic = reported.getStatus().getNics(0);
    assertThat(nic.getId()).isEqualTo("net0");
    assertThat(nic.getModel()).isEqualTo("e1000e");
    assertThat(nic.getNetwork()).isEqualTo("lab");
    assertThat(nic.getPlacement()).isEqualTo(NicPlacement.DEVICE_PROCESS);
    assertThat(nic.getMac()).matches("02(:[0-9a-f]{2}){5}");
    assertThat(nic.getForwardsList()).containsExactly("tcp 127.0.0.1:" + port + " -> 22");
    try (java.net.Socket s = new java.net.Socket("127.0.0.1", port)) { // the forward listens on node-b's host
      assertThat(s.isConnected()).isTrue();
    }

    Vm waiting = Await.atMost(Duration.ofSeconds(10)).every(Duration.ofMillis(100)).until(
        () -> fleet.get(nowhere.getId()), vm -> vm.getStatus().getReason().equals("Unschedulable"),
        vm -> "not unschedulable: " + vm.getStatus());
    assertThat(waiting.getStatus().getPhase()).isEqualTo(Phase.PHASE_PENDING);
    assertThat(waiting.getStatus().getMessage()).contains("2 nodes lack network dmz");
    assertThat(waiting.getStatus().getNode()).isEmpty();
  }
}
