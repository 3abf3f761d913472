package io.mpqemu.agent.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import io.mpqemu.testing.TestGuest;
import io.mpqemu.v1.AgentVm;
import io.mpqemu.v1.Boot;
import io.mpqemu.v1.CatalogImage;
import io.mpqemu.v1.CloudInit;
import io.mpqemu.v1.Disk;
import io.mpqemu.v1.EventType;
import io.mpqemu.v1.ProcessRole;
import io.mpqemu.v1.ProcessStatus;
import io.mpqemu.v1.ProxiedDevice;
import io.mpqemu.v1.VmSpec;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * The real Debian guest imported into the catalog and booted twice from it as a base, each VM configured at
 * its first boot by cloud-init from its own NoCloud seed.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class CloudInitGuestTest {

  /** Two guests under TCG at once on two cores, cloud-init included: about 2 minutes here. */
  private static final Duration READY_WITHIN = Duration.ofSeconds(420);
  private static final Duration ANSWER_WITHIN = Duration.ofSeconds(60);

  @TempDir Path work;
  @RegisterExtension
  static final GuestAgent GUEST = new GuestAgent();
  private AgentHarness agent;

  @BeforeEach
  void useTheGuest() {
    agent = GUEST.agent();
  }

  private static VmSpec spec(String name, String hostname) {
    String userData = "#cloud-config\n"
        + "hostname: " + hostname + "\n"
        + "write_files:\n"
        + "  - path: /root/marker-" + name + "\n"
        + "    content: \"written for " + name + "\\n\"\n";
    return VmSpec.newBuilder().setName(name).setMemoryMib(512)
        .addDevices(ProxiedDevice.newBuilder().setId("root0").setDriver("virtio-blk-pci")
            .addDisks(Disk.newBuilder().setId("root").setBase("debian-12").setSizeGib(3)))
        .setBoot(Boot.newBuilder().setKernel("vmlinuz").setInitrd("initrd.img").setCmdline(TestGuest.CMDLINE))
        .setCloudInit(CloudInit.newBuilder().setUserData(userData))
        .setReadyPattern(Pattern.quote("root@" + hostname + ":~#"))
        .build();
  }

  @Test
  @DisplayName("two VMs from one imported base, each with its own cloud-init user data: each has its hostname"
      + " and marker and not the other's, its seed read-only on a device process of its own; deleting them"
      + " removes their disks and leaves the base as imported")
  void twoGuestsFromOneBase() throws Exception {
    Path qcow2 = work.resolve("debian-12.qcow2");
    run("qemu-img", "convert", "-O", "qcow2", GUEST.guest().resolve("root.img").toString(), qcow2.toString());
    CatalogImage base = agent.importFile("debian-12", "qcow2", qcow2);
    assertThat(base.getFormat()).isEqualTo("qcow2");

    agent.launch("vm-alpha", spec("alpha", "alpha-host"));
    agent.launch("vm-bravo", spec("bravo", "bravo-host"));
    for (String vmId : List.of("vm-alpha", "vm-bravo")) {
      agent.awaitGuestReady(vmId, READY_WITHIN);
    }

    String alpha = inGuest("vm-alpha");
    String bravo = inGuest("vm-bravo");
    assertThat(alpha).contains("host=alpha-host").contains("marker-alpha").contains("written for alpha")
        .doesNotContain("bravo").contains("seed-ro=1").contains("seed-label=cidata");
    assertThat(bravo).contains("host=bravo-host").contains("marker-bravo").contains("written for bravo")
        .doesNotContain("alpha").contains("seed-ro=1");

    AgentVm vm = agent.get("vm-alpha");
    ProcessStatus seed = vm.getProcessesList().stream().filter(p -> p.getName().equals("cidata")).findFirst()
        .orElseThrow(() -> new AssertionError("no cidata process in " + vm.getProcessesList()));
    assertThat(seed.getRole()).isEqualTo(ProcessRole.PROCESS_ROLE_DEVICE);
    assertThat(vm.getProcessesList()).filteredOn(p -> !p.getName().equals("cidata"))
        .allSatisfy(p -> assertThat(p.getUid()).as("the seed's process has a uid of its own").isNotEqualTo(seed.getUid()));

    for (String vmId : List.of("vm-alpha", "vm-bravo")) {
      assertThat(agent.stateDir.resolve("disks/" + vmId + "/root.qcow2")).exists();
      assertThat(agent.stateDir.resolve("disks/" + vmId + "/cidata.iso")).exists();
      agent.delete(vmId, true);
    }
    agent.awaitNoQemu(Duration.ofSeconds(20));
    assertThat(agent.stateDir.resolve("disks/vm-alpha")).doesNotExist();
    assertThat(agent.stateDir.resolve("disks/vm-bravo")).doesNotExist();
    assertThat(sha256(agent.stateDir.resolve("catalog/debian-12.img"))).as("the base is never written")
        .isEqualTo(base.getSha256());
  }

  /** What the guest says about itself, through a writer on its console. */
  private String inGuest(String vmId) {
    ConsoleProbe console = ConsoleProbe.attach(agent, vmId, true, false);
    try {
      int from = console.output.length();
      // the answers differ from the command's echo: "=" and the sum appear only in what the shell prints
      console.type("echo host=$(hostname); ls /root; cat /root/marker-*; echo seed-ro=$(cat /sys/block/vdb/ro);"
          + " echo seed-label=$(blkid -s LABEL -o value /dev/vdb); echo done-$((40+2))\n");
      console.awaitOutput(from, "done-42", ANSWER_WITHIN);
      return console.output.substring(from);
    } finally {
      console.leave();
    }
  }

  private static void run(String... argv) throws Exception {
    Process p = new ProcessBuilder(argv).inheritIO().start();
    assertThat(p.waitFor(5, TimeUnit.MINUTES)).isTrue();
    assertThat(p.exitValue()).as(String.join(" ", argv)).isZero();
  }

  private static String sha256(Path file) throws Exception {
    MessageDigest digest = MessageDigest.getInstance("SHA-256");
    try (InputStream in = Files.newInputStream(file)) {
      byte[] buf = new byte[1 << 20];
      for (int n; (n = in.read(buf)) > 0; ) {
        digest.update(buf, 0, n);
      }
    }
    return HexFormat.of().formatHex(digest.digest());
  }
}
