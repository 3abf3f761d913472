package io.mpqemu.agent.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.mpqemu.agent.net.NicPreparer;
import io.mpqemu.grpc.GrpcCallException;
import io.mpqemu.testing.Await;
import io.mpqemu.testing.ServiceJvm;
import io.mpqemu.v1.AgentVm;
import io.mpqemu.v1.Nic;
import io.mpqemu.v1.NicPlacement;
import io.mpqemu.v1.ProcessRole;
import io.mpqemu.v1.ProcessStatus;
import io.vertx.core.json.JsonObject;
import io.vertx.grpc.common.GrpcStatus;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * NICs on a bridge network: the agent runs in a network namespace the test makes, with a bridge of its
 * own there, and gives each NIC a tap on it, handed to the NIC's process (or the main QEMU's) as a descriptor.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class BridgeNicTest {

  private static final String BRIDGE = "br-lan";

  private TestNetns ns;
  private AgentHarness agent;
  private ServiceJvm jvm;

  @BeforeAll
  void start() throws Exception {
    ns = TestNetns.withBridge("mpq-br-", BRIDGE, "");
    agent = new AgentHarness();
    agent.bootImage("boot.img", "on a bridge", false);
    Path config = agent.root.resolve("agent.json");
    Files.writeString(config, new JsonObject().put("networks", new JsonObject()
        .put("lan", new JsonObject().put("type", "bridge").put("bridge", BRIDGE))
        .put("gone", new JsonObject().put("type", "bridge").put("bridge", "br-none"))).encode());
    jvm = agent.startJvmBehind(ns.prefix(), "--config", config.toString());
  }

  @AfterAll
  void stop() throws Exception {
    try {
      if (jvm != null) {
        jvm.close();
      }
      if (agent != null) {
        agent.close();
      }
    } finally {
      if (ns != null) {
        ns.close();
      }
    }
  }

  @Test
  @DisplayName("each NIC on a bridge network gets a tap of its own on the bridge, up; the node lists the network;"
      + " the taps go with the VM; a network whose bridge is missing is FAILED_PRECONDITION and leaves nothing")
  void tapsOnTheBridge() throws Exception {
    assertThat(agent.nodeInfo().getNetworksList()).containsExactly("default", "gone", "lan");
    AgentVm vm = agent.launch("vm-br", Specs.lsi("br", "boot.img").toBuilder()
        .addNics(Nic.newBuilder().setId("net0").setNetwork("lan"))
        .addNics(Nic.newBuilder().setId("net1").setNetwork("lan").setPlacement(NicPlacement.MAIN)).build());

    String tap0 = NicPreparer.tapName("vm-br", "net0");
    String tap1 = NicPreparer.tapName("vm-br", "net1");
    String onBridge = ns.run("ip", "-o", "link", "show", "master", BRIDGE);
    assertThat(onBridge).contains(tap0 + ":").contains(tap1 + ":").doesNotContain("state DOWN");
    assertThat(vm.getProcessesList()).filteredOn(p -> p.getRole() == ProcessRole.PROCESS_ROLE_NIC)
        .extracting(ProcessStatus::getName).containsExactly("net0");
    assertThat(agent.get("vm-br").getNicsList()).allSatisfy(n -> assertThat(n.getNetwork()).isEqualTo("lan"));
    assertThat(ns.run("ip", "link", "show", tap0)).as("the tap is in the agent's namespace").contains(tap0);
    Process outside = new ProcessBuilder("ip", "link", "show", tap0).redirectErrorStream(true).start();
    outside.getInputStream().readAllBytes();
    assertThat(outside.waitFor()).as("outside the agent's namespace there is no such tap").isNotZero();

    agent.delete("vm-br", true);
    Await.atMost(Duration.ofSeconds(20)).every(Duration.ofMillis(100)).until(() -> ns.runQuietly("ip", "-o", "link", "show",
        "master", BRIDGE), out -> !out.contains("mpq"), out -> "taps left on the bridge: " + out);

    assertThatThrownBy(() -> agent.launch("vm-gone", Specs.lsi("gone", "boot.img").toBuilder()
        .addNics(Nic.newBuilder().setId("net0").setNetwork("gone")).build()))
        .isInstanceOfSatisfying(GrpcCallException.class, e -> {
          assertThat(e.status()).isEqualTo(GrpcStatus.FAILED_PRECONDITION);
          assertThat(e.serverMessage()).contains("nics[0].network 'gone': its bridge br-none is not a bridge of this node");
        });
    assertThat(agent.qemuPids()).isEmpty();
    assertThat(ns.runQuietly("ip", "-o", "link", "show")).doesNotContain("mpq");
  }

  @Test
  @DisplayName("a launch refused after its first NIC got a tap (the second NIC's bridge is missing) leaves no tap,"
      + " no process and no VM")
  void aRefusalAfterATapLeavesNoTap() throws Exception {
    assertThatThrownBy(() -> agent.launch("vm-half", Specs.lsi("half", "boot.img").toBuilder()
        .addNics(Nic.newBuilder().setId("net0").setNetwork("lan"))
        .addNics(Nic.newBuilder().setId("net1").setNetwork("gone")).build()))
        .isInstanceOfSatisfying(GrpcCallException.class, e -> {
          assertThat(e.status()).isEqualTo(GrpcStatus.FAILED_PRECONDITION);
          assertThat(e.serverMessage()).contains("nics[1].network 'gone'");
        });
    assertThat(ns.runQuietly("ip", "-o", "link", "show")).as("net0's tap was made, then let go")
        .doesNotContain(NicPreparer.tapName("vm-half", "net0")).doesNotContain("mpq");
    assertThat(agent.qemuPids()).isEmpty();
    assertThat(agent.list()).extracting(AgentVm::getVmId).doesNotContain("vm-half");
  }
}
