package io.mpqemu.agent.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import io.mpqemu.testing.Await;
import io.mpqemu.testing.TestGuest;
import io.mpqemu.v1.AgentVm;
import io.mpqemu.v1.Boot;
import io.mpqemu.v1.CloudInit;
import io.mpqemu.v1.Disk;
import io.mpqemu.v1.EventType;
import io.mpqemu.v1.Nic;
import io.mpqemu.v1.NicPlacement;
import io.mpqemu.v1.Phase;
import io.mpqemu.v1.PortForward;
import io.mpqemu.v1.ProcessStatus;
import io.mpqemu.v1.ProxiedDevice;
import io.mpqemu.v1.VmSpec;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The real Debian guest with a NIC on the node's default (user-mode, restricted) network: an e1000e in a
 * confined device process of its own, and a virtio-net-pci in the main QEMU. cloud-init starts a TCP server
 * in each guest; the test reaches it through the VM's port forward on the host's loopback.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class NicGuestTest {

  /** Two guests under TCG at once on two cores, cloud-init included. */
  private static final Duration READY_WITHIN = Duration.ofSeconds(420);
  private static final Duration ANSWER_WITHIN = Duration.ofSeconds(120);

  private Path guest;
  @RegisterExtension
  static final GuestAgent GUEST = new GuestAgent();
  private AgentHarness agent;

  @BeforeEach
  void useTheGuest() {
    agent = GUEST.agent();
    guest = GUEST.guest();
  }

  private static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }

  /** A guest whose cloud-init starts a server answering "hello from NAME" on port 8080, behind {@code nic}. */
  private VmSpec spec(String name, Nic nic) throws Exception {
    String image = name + "-root.img";
    TestGuest.copyRoot(guest, agent.imageRoot.resolve(image));
    String userData = GuestServers.userData(name, false);
    return VmSpec.newBuilder().setName(name).setMemoryMib(512)
        .addDevices(ProxiedDevice.newBuilder().setId("root0").setDriver("virtio-blk-pci")
            .addDisks(Disk.newBuilder().setId("root").setImage(image)))
        .addNics(nic)
        .setBoot(Boot.newBuilder().setKernel("vmlinuz").setInitrd("initrd.img").setCmdline(TestGuest.CMDLINE))
        .setCloudInit(CloudInit.newBuilder().setUserData(userData))
        .setReadyPattern(Pattern.quote("root@" + name + ":~#"))
        .build();
  }

  private static Nic.Builder nic(int hostPort) {
    return Nic.newBuilder().setId("net0")
        .addPortForwards(PortForward.newBuilder().setHostPort(hostPort).setGuestPort(8080));
  }

  @Test
  @DisplayName("an e1000e in its own device process and a virtio-net-pci in the main QEMU: each guest gets its"
      + " address by DHCP, sees its NIC, and serves the host through its port forward; killing the NIC's process"
      + " fails the VM naming the NIC")
  void userModeNics() throws Exception {
    int proxiedPort = freePort();
    int mainPort = freePort();
    agent.launch("vm-prox", spec("prox", nic(proxiedPort).build()));
    agent.launch("vm-main", spec("main", nic(mainPort).setPlacement(NicPlacement.MAIN).build()));
    for (String vmId : List.of("vm-prox", "vm-main")) {
      agent.awaitGuestReady(vmId, READY_WITHIN);
    }

    String prox = inGuest("vm-prox");
    assertThat(prox).contains("8086:10d3").contains("inet 10.0.2.15/24"); // e1000e, DHCP from QEMU's NAT
    String main = inGuest("vm-main");
    assertThat(main).contains("1af4:1000").contains("inet 10.0.2.15/24"); // virtio-net

    assertThat(answer(proxiedPort, prox)).isEqualTo("hello from prox\n");
    assertThat(answer(mainPort, main)).isEqualTo("hello from main\n");

    AgentVm vm = agent.get("vm-prox");
    ProcessStatus nicProcess = vm.getProcessesList().stream().filter(p -> p.getName().equals("net0")).findFirst()
        .orElseThrow(() -> new AssertionError("no net0 process in " + vm.getProcessesList()));
    assertThat(vm.getProcessesList()).filteredOn(p -> p != nicProcess)
        .allSatisfy(p -> assertThat(p.getUid()).as("the NIC's process has a uid of its own").isNotEqualTo(nicProcess.getUid()));
    assertThat(agent.get("vm-main").getProcessesList()).extracting(ProcessStatus::getName).doesNotContain("net0");

    ProcessHandle.of(nicProcess.getPid()).orElseThrow().destroyForcibly();
    AgentVm failed = Await.atMost(Duration.ofSeconds(30)).every(Duration.ofMillis(100)).until(() -> agent.get("vm-prox"),
        v -> v.getPhase() == Phase.PHASE_FAILED, v -> "vm-prox is " + v.getPhase());
    assertThat(failed.getReason()).isEqualTo("DeviceProcessExited");
    assertThat(failed.getMessage()).contains("NIC net0 process");
    assertThat(nicProcess.getRole()).isEqualTo(io.mpqemu.v1.ProcessRole.PROCESS_ROLE_NIC);
    agent.awaitBusEvent(e -> e.getVmId().equals("vm-prox") && e.getType() == EventType.NIC_PROCESS_EXITED
        && e.getMessage().contains("NIC net0 process"), Duration.ofSeconds(5));
    agent.awaitBusEvent(e -> e.getVmId().equals("vm-main") && e.getType() == EventType.NIC_ATTACHED
        && e.getMessage().contains("NIC net0 (virtio-net-pci, ") && e.getMessage().contains(", network default, in the main"
        + " QEMU) attached"), Duration.ofSeconds(5));

    for (String vmId : List.of("vm-prox", "vm-main")) {
      agent.delete(vmId, true);
    }
    agent.awaitNoQemu(Duration.ofSeconds(20));
  }

  /** What the guest's server says on the forwarded port: retried until the server (started late in boot) is up. */
  private static String answer(int port, String guestSaid) {
    return Await.atMost(ANSWER_WITHIN).every(Duration.ofMillis(500)).until(() -> {
      try (Socket s = new Socket()) {
        s.connect(new InetSocketAddress("127.0.0.1", port), 2000);
        s.setSoTimeout(5000);
        InputStream in = s.getInputStream();
        return new String(in.readAllBytes(), StandardCharsets.UTF_8);
      } catch (IOException e) {
        return "";
      }
    }, a -> a.startsWith("hello"), a -> "nothing answered on 127.0.0.1:" + port + " (last: '" + a + "'); the guest said: " + guestSaid);
  }

  /** lspci and the guest's IPv4 addresses, through a writer on its console. */
  private String inGuest(String vmId) {
    ConsoleProbe console = ConsoleProbe.attach(agent, vmId, true, false);
    try {
      int from = console.output.length();
      console.type("lspci -n; ip -4 addr show; systemctl is-active guest-hello; ss -ltn; echo done-$((40+2))\n");
      console.awaitOutput(from, "done-42", Duration.ofSeconds(60));
      return console.output.substring(from);
    } finally {
      console.leave();
    }
  }
}
