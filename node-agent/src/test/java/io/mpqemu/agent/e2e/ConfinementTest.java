package io.mpqemu.agent.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.mpqemu.agent.confine.Cgroups;
import io.mpqemu.agent.confine.UidRange;
import io.mpqemu.agent.qemu.BootImage;
import io.mpqemu.agent.qemu.QemuImg;
import io.mpqemu.grpc.GrpcCallException;
import io.mpqemu.testing.Await;
import io.mpqemu.v1.AgentVm;
import io.mpqemu.v1.Confinement;
import io.mpqemu.v1.Disk;
import io.mpqemu.v1.NodeInfo;
import io.mpqemu.v1.ProcessStatus;
import io.mpqemu.v1.ProxiedDevice;
import io.mpqemu.v1.VmSpec;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/**
 * What a user checks on a live host to see that confinement holds: every QEMU process's
 * /proc/PID/status, its namespaces, and what its mount namespace shows, entered as root so that
 * file permissions cannot hide a missing namespace.
 */
class ConfinementTest extends InProcessAgentTest {

  private static final String NO_CAPS = "0000000000000000";
  private static final Path ETC_MPQEMU = Path.of("/etc/mpqemu");

  @Test
  @DisplayName("each process of a two-device VM runs under a uid of its own, without capabilities, in namespaces that show no image, state or /etc/mpqemu")
  void everyProcessConfined() throws Exception {
    boolean madeEtc = !Files.exists(ETC_MPQEMU);
    Files.createDirectories(ETC_MPQEMU);
    try {
      // both disks carry the boot sector: SeaBIOS boots from whichever disk it finds first
      BootImage.writeRaw(agent.imageRoot.resolve("boot.img"), "confined and booted", false);
      QemuImg.run("convert", "-f", "raw", "-O", "qcow2", agent.imageRoot.resolve("boot.img").toString(),
          agent.imageRoot.resolve("boot.qcow2").toString());
      VmSpec spec = VmSpec.newBuilder().setName("confined").setMemoryMib(64)
          .addDevices(ProxiedDevice.newBuilder().setId("lsi0").setDriver("lsi53c895a")
              .addDisks(Disk.newBuilder().setId("raw").setImage("boot.img")))
          .addDevices(ProxiedDevice.newBuilder().setId("nvme0").setDriver("nvme")
              .addDisks(Disk.newBuilder().setId("qcow").setImage("boot.qcow2").setFormat("qcow2")))
          .build();
      AgentVm other = agent.launch("vm-other", Specs.lsi("other", agent.bootImage("other.img", "the other VM", false)));
      AgentVm vm = agent.launch("vm-conf", spec);
      agent.awaitConsole("vm-conf", "confined and booted", AgentHarness.BOOT_WITHIN);

      UidRange range = agent.uidRange();
      NodeInfo node = agent.nodeInfo();
      assertThat(node.getConfinement()).isEqualTo(Confinement.CONFINEMENT_ON);
      assertThat(node.getConfinementDetail()).contains("uids " + range);
      assertThat(vm.getConfinement()).isEqualTo(Confinement.CONFINEMENT_ON);
      assertThat(vm.getProcessesList()).hasSize(3);

      Set<Long> uids = new HashSet<>();
      for (ProcessStatus p : vm.getProcessesList()) {
        long pid = p.getPid();
        Map<String, String> status = status(pid);
        String who = p.getName() + " (pid " + pid + ")";
        String[] ids = status.get("Uid").split("\\s+");
        long uid = Long.parseLong(ids[0]);
        assertThat(ids).as(who + " real, effective, saved and fs uid").containsOnly(ids[0]);
        assertThat(status.get("Gid").split("\\s+")).as(who + " gids").containsOnly(Long.toString(uid));
        assertThat(range.contains(uid)).as(who + " uid " + uid + " in " + range).isTrue();
        assertThat(p.getUid() & 0xFFFF_FFFFL).as(who + " uid as GetVm reports it").isEqualTo(uid);
        uids.add(uid);
        for (String set : List.of("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb")) {
          assertThat(status.get(set)).as(who + " " + set).isEqualTo(NO_CAPS);
        }
        assertThat(status.get("NoNewPrivs")).as(who + " NoNewPrivs").isEqualTo("1");
        assertThat(status.get("Seccomp")).as(who + " Seccomp (2: a filter)").isEqualTo("2");
        for (String ns : List.of("mnt", "net", "ipc", "uts")) {
          assertThat(namespace(pid, ns)).as(who + " " + ns + " namespace").isNotEqualTo(namespace(ProcessHandle.current().pid(), ns));
        }
        for (Path hidden : List.of(agent.imageRoot, agent.vmDir("vm-other"), agent.vmDir("vm-conf"), ETC_MPQEMU,
            Path.of("/root"), Path.of("/home"))) {
          assertThat(existsInView(pid, hidden)).as(hidden + " in the view of " + who).isFalse();
        }
        assertThat(existsInView(pid, Path.of("/usr/share/qemu"))).as("firmware in the view of " + who).isTrue();
      }
      assertThat(uids).as("a uid per process").hasSize(3);
      AgentVm sampled = Await.atMost(Duration.ofSeconds(10)).every(Duration.ofMillis(500)).until(() -> agent.get("vm-conf"),
          v -> v.getProcessesList().stream().allMatch(p -> p.getCgroupMemoryBytes() > 0 && p.getRssBytes() > 0),
          v -> "memory charged to each process's own cgroup: " + v.getProcessesList());
      for (ProcessStatus p : sampled.getProcessesList()) {
        assertThat(p.getCgroupMemoryBytes()).as(p.getName() + " cgroup memory").isLessThanOrEqualTo((64L + 512L) << 20);
      }
      for (ProcessStatus p : other.getProcessesList()) {
        assertThat(uids).as("the other VM's " + p.getName() + " runs under none of this VM's uids").doesNotContain(p.getUid() & 0xFFFF_FFFFL);
      }

      long main = vm.getProcessesList().stream().filter(p -> p.getName().equals("main")).findFirst().orElseThrow().getPid();
      assertThat(vm.getAccelerator()).as("the accelerator the probe chose").isEqualTo(node.getAccelerator());
      if (node.getAccelerator().equals("kvm")) {
        assertThat(descriptorTargets(main)).as("the confined main QEMU holds a KVM VM").contains("anon_inode:kvm-vm");
      }
    } finally {
      if (madeEtc) {
        Files.deleteIfExists(ETC_MPQEMU);
      }
    }
  }

  @Test
  @DisplayName("a deleted VM's processes, cgroups and uids are gone, and its uids serve the next VM")
  void deleteReleasesEverything() throws Exception {
    String image = agent.bootImage("boot.img", "released", false);
    AgentVm first = agent.launch("vm-a", Specs.lsi("a", image));
    long uid = first.getProcessesList().get(0).getUid() & 0xFFFF_FFFFL;
    agent.delete("vm-a", true);
    agent.awaitNoQemu(AgentHarness.CALL_DEADLINE);
    AgentVm second = agent.launch("vm-b", Specs.lsi("b", image));
    assertThat(second.getProcessesList().get(0).getUid() & 0xFFFF_FFFFL).as("the freed uids go to the next VM").isEqualTo(uid);
    agent.awaitConsole("vm-b", "released", AgentHarness.BOOT_WITHIN);
    String groups = "mpqemu-" + Cgroups.keyFor(agent.stateDir);
    assertThat(cgroupsOf(groups, "vm-a")).as("vm-a's cgroups").isEmpty();
    assertThat(cgroupsOf(groups, "vm-b")).as("vm-b's cgroups").isNotEmpty();
  }

  @Test
  @DisplayName("a device process over its pids limit fails alone: the launch fails naming that device, the main QEMU is not blamed, nothing is left")
  void deviceOverItsPidsLimitFailsAlone() throws Exception {
    agent.stopInProcess();
    agent.startInProcess(c -> c.withConfinement(c.confinement().withDeviceLimits(1024, 1)));
    String image = agent.bootImage("boot.img", "never printed", false);

    assertThatThrownBy(() -> agent.launch("vm-limited", Specs.lsi("limited", image)))
        .isInstanceOf(GrpcCallException.class)
        .hasMessageContaining("device lsi0 process")
        .hasMessageContaining("qemu_thread_create: Resource temporarily unavailable");
    agent.awaitNoQemu(AgentHarness.CALL_DEADLINE);
  }

  @Test
  @DisplayName("a device process over its open-files limit fails alone: the launch fails naming that device, nothing is left")
  void deviceOverItsFileLimitFailsAlone() throws Exception {
    agent.stopInProcess();
    agent.startInProcess(c -> c.withConfinement(c.confinement().withDeviceLimits(16, 128)));
    // seven disks: seven descriptors from the agent, and QEMU opens more for each
    ProxiedDevice.Builder lsi = ProxiedDevice.newBuilder().setId("lsi0").setDriver("lsi53c895a");
    for (int i = 0; i < 7; i++) {
      lsi.addDisks(Disk.newBuilder().setId("d" + i).setImage(agent.emptyImage("d" + i + ".img")).setScsiId(i));
    }
    VmSpec spec = VmSpec.newBuilder().setName("limited").setMemoryMib(64).addDevices(lsi).build();

    assertThatThrownBy(() -> agent.launch("vm-limited", spec))
        .isInstanceOf(GrpcCallException.class)
        .hasMessageContaining("device lsi0 process")
        .hasMessageContaining("Too many open files");
    agent.awaitNoQemu(AgentHarness.CALL_DEADLINE);
  }

  @Test
  @DisplayName("with --confinement=off the agent says so in GetNodeInfo and in the VM's status, and its processes run as the agent")
  void offIsReported() throws Exception {
    agent.stopInProcess();
    agent.startInProcess(c -> c.withConfinement(c.confinement().withEnabled(false)));
    AgentVm vm = agent.launch("vm-open", Specs.lsi("open", agent.bootImage("boot.img", "unconfined", false)));

    NodeInfo node = agent.nodeInfo();
    assertThat(node.getConfinement()).isEqualTo(Confinement.CONFINEMENT_OFF);
    assertThat(node.getConfinementDetail()).startsWith("off");
    assertThat(vm.getConfinement()).isEqualTo(Confinement.CONFINEMENT_OFF);
    for (ProcessStatus p : vm.getProcessesList()) {
      assertThat(status(p.getPid()).get("Uid")).as(p.getName()).startsWith("0\t");
      assertThat(namespace(p.getPid(), "mnt")).isEqualTo(namespace(ProcessHandle.current().pid(), "mnt"));
    }
  }

  private static List<Path> cgroupsOf(String agentGroups, String vmId) throws IOException {
    try (var found = Files.find(Path.of("/sys/fs/cgroup"), 8, (p, a) -> a.isDirectory() && p.getFileName() != null
        && p.getFileName().toString().equals(vmId) && p.getParent().getFileName().toString().equals(agentGroups))) {
      return found.toList();
    }
  }

  static Map<String, String> status(long pid) throws IOException {
    Map<String, String> fields = new HashMap<>();
    for (String line : Files.readAllLines(Path.of("/proc/" + pid + "/status"), StandardCharsets.US_ASCII)) {
      int colon = line.indexOf(':');
      if (colon > 0) {
        fields.put(line.substring(0, colon), line.substring(colon + 1).strip());
      }
    }
    return fields;
  }

  private static String namespace(long pid, String ns) throws IOException {
    return Files.readSymbolicLink(Path.of("/proc/" + pid + "/ns/" + ns)).toString();
  }

  private static List<String> descriptorTargets(long pid) throws IOException {
    try (var fds = Files.list(Path.of("/proc/" + pid + "/fd"))) {
      return fds.map(f -> {
        try {
          return Files.readSymbolicLink(f).toString();
        } catch (IOException e) {
          return "";
        }
      }).toList();
    }
  }

  /** Whether {@code path} exists in the process's mount namespace, asked as root with nsenter. */
  private static boolean existsInView(long pid, Path path) throws Exception {
    Process p = new ProcessBuilder("nsenter", "-t", Long.toString(pid), "-m", "--", "test", "-e", path.toString())
        .redirectErrorStream(true).start();
    assertThat(p.waitFor(10, TimeUnit.SECONDS)).isTrue();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(p.exitValue()).as("nsenter test -e " + path + ": " + out).isIn(0, 1);
    return p.exitValue() == 0;
  }
}
