package io.mpqemu.agent.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import io.mpqemu.testing.Await;
import io.mpqemu.testing.ServiceJvm;
import io.mpqemu.testing.TestGuest;
import io.mpqemu.v1.Boot;
import io.mpqemu.v1.CloudInit;
import io.mpqemu.v1.Disk;
import io.mpqemu.v1.Nic;
import io.mpqemu.v1.ProxiedDevice;
import io.mpqemu.v1.VmSpec;
import io.vertx.core.json.JsonObject;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * Two real guests on one bridge, each NIC an e1000e in its own device process on a tap the agent made: the
 * agent runs in a network namespace of the test's own, whose bridge has the address 10.77.0.1/24; cloud-init
 * gives the guests 10.77.0.2 and 10.77.0.3 (network_config).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class BridgeGuestTest {

  private static final Duration READY_WITHIN = Duration.ofSeconds(420);
  private static final String BRIDGE = "br-lan";
  private static final String METRICS = "http://127.0.0.1:9464/metrics";
  private static final int SENT = 2 << 20;

  private TestNetns ns;
  private AgentHarness agent;
  private ServiceJvm jvm;
  private Path guest;

  @BeforeAll
  void start() throws Exception {
    guest = TestGuest.ensureBuilt();
    ns = TestNetns.withBridge("mpq-bg-", BRIDGE, "10.77.0.1/24");
    agent = new AgentHarness();
    TestGuest.copyBootFiles(guest, agent.imageRoot);
    Path config = agent.root.resolve("agent.json");
    Files.writeString(config, new JsonObject().put("networks", new JsonObject()
        .put("lan", new JsonObject().put("type", "bridge").put("bridge", BRIDGE))).encode());
    jvm = agent.startJvmBehind(ns.prefix(), "--config", config.toString(), "--accelerator", "tcg",
        "--http-listen", "tcp:127.0.0.1:9464");
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

  private VmSpec spec(String name, String mac, String address, io.mpqemu.v1.NicPlacement placement) throws Exception {
    TestGuest.copyRoot(guest, agent.imageRoot.resolve(name + ".img"));
    String userData = GuestServers.userData(name, true);
    String network = "version: 2\n"
        + "ethernets:\n"
        + "  lan0:\n"
        + "    match:\n"
        + "      macaddress: \"" + mac + "\"\n"
        + "    addresses: [" + address + "/24]\n";
    return VmSpec.newBuilder().setName(name).setMemoryMib(512)
        .addDevices(ProxiedDevice.newBuilder().setId("root0").setDriver("virtio-blk-pci")
            .addDisks(Disk.newBuilder().setId("root").setImage(name + ".img")))
        .addNics(Nic.newBuilder().setId("net0").setNetwork("lan").setMac(mac).setPlacement(placement))
        .setBoot(Boot.newBuilder().setKernel("vmlinuz").setInitrd("initrd.img").setCmdline(TestGuest.CMDLINE))
        .setCloudInit(CloudInit.newBuilder().setUserData(userData).setNetworkConfig(network))
        .setReadyPattern(Pattern.quote("root@" + name + ":~#"))
        .build();
  }

  @Test
  @DisplayName("two guests on one bridge, one with an e1000e in a NIC process of its own, one with a virtio-net in"
      + " its main QEMU, reach each other; the node learns their addresses from its neighbour table; each tap's"
      + " counters show on /metrics")
  void twoGuestsOnABridge() throws Exception {
    agent.launch("vm-a", spec("a", "52:54:00:77:00:02", "10.77.0.2", io.mpqemu.v1.NicPlacement.DEVICE_PROCESS));
    agent.launch("vm-b", spec("b", "52:54:00:77:00:03", "10.77.0.3", io.mpqemu.v1.NicPlacement.MAIN));
    for (String vmId : List.of("vm-a", "vm-b")) { // the agent is in another JVM: its events are not on this bus
      Await.atMost(READY_WITHIN).every(Duration.ofSeconds(1)).until(() -> agent.get(vmId),
          vm -> vm.hasGuestReadyAt(), vm -> vmId + " never got ready: " + vm.getPhase() + " " + vm.getMessage());
    }

    ConsoleProbe a = ConsoleProbe.attach(agent, "vm-a", true, false);
    try {
      String said = Await.atMost(Duration.ofSeconds(120)).every(Duration.ofSeconds(3)).until(() -> {
        int from = a.output.length();
        a.type("nc -N -w 5 10.77.0.3 8080 </dev/null; echo done-$((40+2))\n");
        return a.awaitOutput(from, "done-42", Duration.ofSeconds(60));
      }, out -> out.contains("hello from b"), out -> "vm-a never reached vm-b's server; its console: " + out);
      assertThat(said).contains("hello from b");
      int from = a.output.length();
      a.type("lspci -n; echo done-$((40+3))\n");
      assertThat(a.awaitOutput(from, "done-43", Duration.ofSeconds(60))).as("vm-a's PCI devices")
          .contains("8086:10d3");
    } finally {
      a.leave();
    }
    java.util.Map<String, Integer> uids = new java.util.HashMap<>();
    agent.get("vm-a").getProcessesList().forEach(p -> uids.put(p.getName(), p.getUid()));
    assertThat(uids).as("vm-a's processes by uid").containsKeys("main", "root0", "cidata", "net0");
    assertThat(new java.util.HashSet<>(uids.values())).as("each under a uid of its own: " + uids).hasSize(uids.size());
    assertThat(agent.get("vm-b").getProcessesList()).extracting(io.mpqemu.v1.ProcessStatus::getName)
        .as("vm-b's virtio-net is in its main QEMU").doesNotContain("net0");

    // the node talks to each guest (from the namespace, where the bridge has its address): it learns them
    for (String guestName : List.of("a", "b")) { // its server starts late in its boot: retried until it answers
      String address = guestName.equals("a") ? "10.77.0.2" : "10.77.0.3";
      Await.atMost(Duration.ofSeconds(120)).every(Duration.ofSeconds(2)).until(() -> ns.runQuietly("bash", "-c",
          "exec 3<>/dev/tcp/" + address + "/8080; timeout 30 cat <&3"), out -> out.equals("hello from " + guestName + "\n"),
          out -> "the node could not reach " + address + ": " + out);
    }
    // the agent reads its neighbour table every 2 s
    for (String vmId : List.of("vm-a", "vm-b")) {
      String address = vmId.equals("vm-a") ? "10.77.0.2" : "10.77.0.3";
      Await.atMost(Duration.ofSeconds(20)).every(Duration.ofMillis(500)).until(() -> agent.get(vmId).getNics(0),
          n -> n.getAddressesList().equals(List.of(address)), n -> vmId + "'s NIC: " + n);
    }

    // and says so once per address, in the VM's events
    for (String vmId : List.of("vm-a", "vm-b")) {
      String address = vmId.equals("vm-a") ? "10.77.0.2" : "10.77.0.3";
      long last = agent.get(vmId).getLastVmSeq();
      List<io.mpqemu.v1.VmEvent> replayed = agent.watch(vmId, true);
      Await.atMost(Duration.ofSeconds(10)).every(Duration.ofMillis(50)).until(() -> replayed.stream()
          .anyMatch(e -> e.getVmSeq() >= last), found -> found, found -> "no replay up to " + last + ": " + replayed);
      List<io.mpqemu.v1.VmEvent> learnt = replayed.stream()
          .filter(e -> e.getType() == io.mpqemu.v1.EventType.NIC_ADDRESS_LEARNT).toList();
      assertThat(learnt).as(vmId + "'s NIC_ADDRESS_LEARNT events").singleElement()
          .satisfies(e -> assertThat(e.getMessage()).contains("NIC net0").contains("has address " + address));
    }

    // each tap's counters on /metrics, in the guest's direction: 2 MiB sent to a's sink reach a's NIC, not b's
    ns.run("bash", "-c", "exec 3<>/dev/tcp/10.77.0.2/9090; head -c " + SENT + " /dev/zero >&3; exec 3>&-");
    Await.atMost(Duration.ofSeconds(20)).every(Duration.ofMillis(500)).until(() -> ns.run("curl", "-sf", METRICS),
        page -> counter(page, "receive_bytes", "vm-a") >= SENT,
        page -> "vm-a's NIC counters never showed the " + SENT + " bytes sent to it: " + nicLines(page));
    String page = ns.run("curl", "-sf", METRICS);
    assertThat(counter(page, "receive_bytes", "vm-b")).as(nicLines(page)).isPositive().isLessThan(SENT / 2);
    assertThat(counter(page, "transmit_packets", "vm-a")).as("a's ACKs: " + nicLines(page)).isPositive();
    assertThat(counter(page, "transmit_bytes", "vm-b")).as("b's hello: " + nicLines(page)).isPositive();

    for (String vmId : List.of("vm-a", "vm-b")) {
      agent.delete(vmId, true);
    }
    agent.awaitNoQemu(Duration.ofSeconds(20));
    Await.atMost(Duration.ofSeconds(20)).every(Duration.ofMillis(200)).until(() -> ns.run("ip", "-o", "link", "show",
        "master", BRIDGE), out -> !out.contains("mpq"), out -> "taps left on the bridge: " + out);
  }

  /** One NIC counter of net0 on the lan network, from a Prometheus page; -1 when absent. */
  private static double counter(String page, String what, String vmId) {
    String prefix = "mpqemu_nic_" + what + "_total{network=\"lan\",nic=\"net0\",vm=\"" + vmId + "\"} ";
    return page.lines().filter(l -> l.startsWith(prefix)).mapToDouble(l -> Double.parseDouble(l.substring(prefix.length())))
        .findFirst().orElse(-1);
  }

  private static String nicLines(String page) {
    return String.join("\n", page.lines().filter(l -> l.startsWith("mpqemu_nic_")).toList());
  }
}
