package io.mpqemu.agent.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import io.mpqemu.v1.AgentVm;
import io.mpqemu.v1.Boot;
import io.mpqemu.v1.Disk;
import io.mpqemu.v1.ProxiedDevice;
import io.mpqemu.v1.VmSpec;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * A real Linux: the Debian guest {@code deploy/build-guest.sh} makes (built once into target/guest and
 * kept there for re-runs), booted directly (kernel and initrd handed over by the agent) by a confined
 * agent with its root file system on a proxied disk, to a root shell on its serial console.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class RealGuestTest {

  private static final Path GUEST = Path.of("target/guest").toAbsolutePath();
  /** Under TCG here; 13 to 22 s on an idle machine, more on a loaded one. */
  private static final Duration SHELL_WITHIN = Duration.ofSeconds(240);
  private static final String PROMPT = "root@mpqemu-guest:~#";

  private AgentHarness agent;

  @BeforeAll
  void build() throws Exception {
    if (!Files.exists(GUEST.resolve("root.img")) || !Files.exists(GUEST.resolve("vmlinuz"))
        || !Files.exists(GUEST.resolve("initrd.img"))) {
      Process p = new ProcessBuilder(Path.of("../deploy/build-guest.sh").toAbsolutePath().toString(), GUEST.toString())
          .redirectErrorStream(true).start();
      String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      assertThat(p.waitFor(15, TimeUnit.MINUTES)).as("build-guest.sh finished").isTrue();
      assertThat(p.exitValue()).as(out).isZero();
    }
    agent = new AgentHarness().startInProcess();
    for (String f : List.of("vmlinuz", "initrd.img")) {
      Files.copy(GUEST.resolve(f), agent.imageRoot.resolve(f));
    }
  }

  @AfterAll
  void stop() throws Exception {
    if (agent != null) {
      agent.close();
    }
  }

  @Test
  @DisplayName("Debian boots from a root disk on a proxied virtio-blk-pci to a root shell; the kernel got the"
      + " command line with what the agent adds under TCG")
  void virtioBlk() throws Exception {
    boot("vm-virtio", "virtio-blk-pci", "vda");
  }

  @Test
  @DisplayName("the same from a root disk on a proxied nvme")
  void nvme() throws Exception {
    boot("vm-nvme", "nvme", "nvme0n1");
  }

  private void boot(String vmId, String driver, String diskName) throws Exception {
    String root = vmId + "-root.img";
    copySparse(GUEST.resolve("root.img"), agent.imageRoot.resolve(root));
    VmSpec spec = VmSpec.newBuilder().setName(vmId.substring(3)).setMemoryMib(512)
        .addDevices(ProxiedDevice.newBuilder().setId("root0").setDriver(driver)
            .addDisks(Disk.newBuilder().setId("root").setImage(root)))
        .setBoot(Boot.newBuilder().setKernel("vmlinuz").setInitrd("initrd.img")
            .setCmdline("console=ttyS0 root=LABEL=root rw"))
        .build();

    AgentVm vm = agent.launch(vmId, spec);

    String console = agent.awaitConsole(vmId, PROMPT, SHELL_WITHIN);
    String line = "console=ttyS0 root=LABEL=root rw" + (vm.getAccelerator().equals("tcg") ? " irqpoll nolapic_timer" : "");
    assertThat(console).contains("Command line: " + line).contains(diskName).contains("EXT4-fs (" + diskName + ")");
    agent.delete(vmId, true);
    agent.awaitNoQemu(Duration.ofSeconds(10));
    Files.delete(agent.imageRoot.resolve(root));
  }

  /** A copy of the 2 GiB image that stays sparse (about 850 MB of data). */
  private static void copySparse(Path from, Path to) throws IOException, InterruptedException {
    Process p = new ProcessBuilder("cp", "--sparse=always", from.toString(), to.toString()).inheritIO().start();
    assertThat(p.waitFor(5, TimeUnit.MINUTES)).isTrue();
    assertThat(p.exitValue()).isZero();
  }
}
