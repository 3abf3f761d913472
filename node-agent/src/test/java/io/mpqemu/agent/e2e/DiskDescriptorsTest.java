package io.mpqemu.agent.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.mpqemu.agent.qemu.BootImage;
import io.mpqemu.agent.qemu.QemuImg;
import io.mpqemu.agent.unix.OpenDescriptors;
import io.mpqemu.grpc.GrpcCallException;
import io.mpqemu.v1.AgentVm;
import io.mpqemu.v1.Disk;
import io.mpqemu.v1.Phase;
import io.mpqemu.v1.ProcessStatus;
import io.mpqemu.v1.ProxiedDevice;
import io.mpqemu.v1.VmSpec;
import io.vertx.grpc.common.GrpcStatus;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.stream.Stream;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The agent opens every image and QEMU gets descriptors: no QEMU process names or opens a file under
 * the image root that it was not given, and hostile images never reach a QEMU process.
 */
class DiskDescriptorsTest extends InProcessAgentTest {

  @ParameterizedTest(name = "{0} with a {1} disk")
  @CsvSource({"lsi53c895a, raw", "megasas, qcow2", "nvme, raw", "virtio-blk-pci, qcow2"})
  @DisplayName("the guest boots from a disk the device process got as a descriptor, and no QEMU process holds anything else of the image root")
  void bootsFromADescriptor(String driver, String format) throws Exception {
    String image = bootImage("boot." + format, format, "booted from a descriptor");
    VmSpec spec = VmSpec.newBuilder().setName("fd").setMemoryMib(64)
        .addDevices(ProxiedDevice.newBuilder().setId("dev0").setDriver(driver)
            .addDisks(Disk.newBuilder().setId("boot").setImage(image).setFormat(format)))
        .build();

    AgentVm vm = agent.launch("vm-fd", spec);

    agent.awaitConsole("vm-fd", "booted from a descriptor", AgentHarness.BOOT_WITHIN);
    Path real = agent.imageRoot.resolve(image);
    for (ProcessStatus p : vm.getProcessesList()) {
      assertThat(commandLine(p.getPid())).as(p.getName() + "'s command line").doesNotContain(agent.imageRoot.toString());
      List<String> under = filesUnder(p.getPid(), agent.imageRoot);
      if (p.getName().equals("dev0")) {
        assertThat(under).as("the device process holds its image, and nothing else of the root").containsOnly(real.toString());
        assertThat(OpenDescriptors.targets(p.getPid())).as("no descriptor of the agent (its sockets, logs, state) leaked into it")
            .filteredOn(f -> f.startsWith("socket:") || f.startsWith(agent.root.toString()))
            .containsOnly(socketOf(p.getPid(), 0), real.toString(), agent.vmDir("vm-fd").resolve("dev-dev0.log").toString());
      } else {
        assertThat(under).as("the main QEMU holds nothing of the image root").isEmpty();
      }
    }
  }

  @Test
  @DisplayName("hostile images are refused with the right status, naming the disk, and no QEMU process starts")
  void hostileImagesRefused() throws Exception {
    Path outside = Files.writeString(agent.imageRoot.getParent().resolve("secret"), "not for guests");
    QemuImg.run("create", "-q", "-f", "qcow2", "-F", "raw", "-b", outside.toString(), agent.imageRoot.resolve("backing.qcow2").toString(), "1M");
    QemuImg.run("create", "-q", "-f", "qcow2", "-F", "raw", "-b", "../secret", agent.imageRoot.resolve("relative.qcow2").toString(), "1M");
    QemuImg.run("create", "-q", "-f", "qcow2", "-o", "data_file=" + outside.getParent().resolve("data.raw"),
        agent.imageRoot.resolve("datafile.qcow2").toString(), "1M");
    Files.createLink(agent.imageRoot.resolve("hardlink.img"), outside);
    assertThat(new ProcessBuilder("mkfifo", agent.imageRoot.resolve("fifo.img").toString()).start().waitFor()).isZero();

    assertRefused("backing.qcow2", "qcow2", GrpcStatus.FAILED_PRECONDITION, "names a backing file");
    assertRefused("relative.qcow2", "qcow2", GrpcStatus.FAILED_PRECONDITION, "names a backing file");
    assertRefused("datafile.qcow2", "qcow2", GrpcStatus.FAILED_PRECONDITION, "external data file");
    assertRefused("hardlink.img", "raw", GrpcStatus.PERMISSION_DENIED, "2 hard links");
    assertRefused("fifo.img", "raw", GrpcStatus.FAILED_PRECONDITION, "not a regular file");
    assertThat(agent.qemuPids()).isEmpty();
    assertThat(agent.list()).isEmpty();
  }

  @Test
  @DisplayName("an image swapped for a link out of the root while launches run: each launch gets the real file or is refused")
  void swappedDuringLaunches() throws Exception {
    Path outside = Files.writeString(agent.imageRoot.getParent().resolve("secret"), "not for guests");
    Path real = agent.imageRoot.resolve(".real");
    BootImage.writeRaw(real, "swapped", false);
    Path link = agent.imageRoot.resolve(".link");
    Files.createSymbolicLink(link, outside);
    Path img = agent.imageRoot.resolve("swap.img");
    Files.copy(real, img);
    AtomicBoolean run = new AtomicBoolean(true);
    Thread swapper = new Thread(() -> {
      Path staged = agent.imageRoot.resolve(".staged");
      while (run.get()) {
        try {
          Files.copy(link, staged, StandardCopyOption.REPLACE_EXISTING, java.nio.file.LinkOption.NOFOLLOW_LINKS);
          Files.move(staged, img, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
          Files.copy(real, staged, StandardCopyOption.REPLACE_EXISTING);
          Files.move(staged, img, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException e) {
          // the next round tries again
        }
      }
    });
    swapper.start();
    int launched = 0;
    int refused = 0;
    try {
      for (int i = 0; i < 12; i++) {
        String id = "vm-swap-" + i;
        try {
          AgentVm vm = agent.launch(id, Specs.lsi("swap" + i, "swap.img"));
          assertThat(vm.getPhase()).isEqualTo(Phase.PHASE_RUNNING);
          for (ProcessStatus p : vm.getProcessesList()) {
            assertThat(OpenDescriptors.targets(p.getPid())).as(p.getName()).doesNotContain(outside.toString());
          }
          launched++;
          agent.stop(id, 0, true);
          agent.delete(id, false);
        } catch (GrpcCallException e) {
          assertThat(e.status()).as(e.getMessage()).isEqualTo(GrpcStatus.PERMISSION_DENIED);
          refused++;
        }
      }
    } finally {
      run.set(false);
      swapper.join();
    }
    assertThat(launched + refused).isEqualTo(12);
  }

  private void assertRefused(String image, String format, GrpcStatus status, String says) {
    VmSpec spec = VmSpec.newBuilder().setName("hostile").setMemoryMib(64)
        .addDevices(ProxiedDevice.newBuilder().setId("dev0").setDriver("virtio-blk-pci")
            .addDisks(Disk.newBuilder().setId("d").setImage(image).setFormat(format)))
        .build();
    assertThatThrownBy(() -> agent.launch("vm-hostile", spec)).as(image)
        .isInstanceOfSatisfying(GrpcCallException.class, e -> assertThat(e.status()).isEqualTo(status))
        .hasMessageContaining("devices[0].disks[0].image: image '" + image + "'")
        .hasMessageContaining(says);
  }

  private String bootImage(String name, String format, String message) throws Exception {
    Path raw = agent.imageRoot.resolve("boot.raw.tmp");
    BootImage.writeRaw(raw, message, false);
    if (format.equals("raw")) {
      Files.move(raw, agent.imageRoot.resolve(name));
    } else {
      QemuImg.run("convert", "-f", "raw", "-O", "qcow2", raw.toString(), agent.imageRoot.resolve(name).toString());
      Files.delete(raw);
    }
    return name;
  }

  private static String socketOf(long pid, int fd) throws IOException {
    return Files.readSymbolicLink(Path.of("/proc/" + pid + "/fd/" + fd)).toString();
  }

  private static String commandLine(long pid) throws IOException {
    return Files.readString(Path.of("/proc/" + pid + "/cmdline")).replace('\0', ' ');
  }

  /** What a process holds open under {@code root} (real paths, as /proc shows them). */
  private static List<String> filesUnder(long pid, Path root) throws IOException {
    return OpenDescriptors.targets(pid).stream().filter(f -> f.startsWith(root + "/")).toList();
  }
}
