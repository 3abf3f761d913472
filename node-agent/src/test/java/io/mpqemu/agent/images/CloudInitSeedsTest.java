package io.mpqemu.agent.images;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.mpqemu.v1.CloudInit;
import io.mpqemu.v1.VmSpec;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The NoCloud seed, made by the real genisoimage and read back with isoinfo (both from its package). */
class CloudInitSeedsTest {

  @TempDir Path dir;

  private static VmSpec spec(String userData) {
    return VmSpec.newBuilder().setName("web-1").setMemoryMib(64)
        .setCloudInit(CloudInit.newBuilder().setUserData(userData).setNetworkConfig("version: 2\n")).build();
  }

  private static String isoinfo(Path iso, String... args) throws IOException, InterruptedException {
    var argv = new java.util.ArrayList<>(List.of("isoinfo", "-i", iso.toString()));
    argv.addAll(List.of(args));
    Process p = new ProcessBuilder(argv).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(p.waitFor(10, TimeUnit.SECONDS)).isTrue();
    return out;
  }

  @Test
  @DisplayName("the seed is a read-only ISO labelled cidata with user-data, meta-data (defaults added) and network-config; nothing else is left beside it")
  void seed() throws Exception {
    Overlays disks = new Overlays(dir, "qemu-img");
    CloudInitSeeds seeds = new CloudInitSeeds(disks, "genisoimage");
    String userData = "#cloud-config\nhostname: \"$(reboot)\"; ; -o /etc/x\n";
    try (OpenImage seed = seeds.open("vm-1", spec(userData))) {
      assertThat(seed.readOnly()).isTrue();
    }
    Path iso = dir.resolve("vm-1/cidata.iso");
    assertThat(isoinfo(iso, "-d")).contains("Volume id: cidata");
    assertThat(isoinfo(iso, "-R", "-x", "/user-data")).isEqualTo(userData);
    assertThat(isoinfo(iso, "-R", "-x", "/meta-data")).isEqualTo("instance-id: vm-1\nlocal-hostname: web-1\n");
    assertThat(isoinfo(iso, "-R", "-x", "/network-config")).isEqualTo("version: 2\n");
    try (var left = Files.list(dir.resolve("vm-1"))) {
      assertThat(left.map(p -> p.getFileName().toString())).containsExactly("cidata.iso");
    }
    assertThat(java.nio.file.attribute.PosixFilePermissions.toString(Files.getPosixFilePermissions(iso))).isEqualTo("rw-------");

    // made afresh at every launch, so it says what the spec says now; removed with the VM's own disks
    try (OpenImage again = seeds.open("vm-1", spec("#cloud-config\n"))) {
      assertThat(isoinfo(iso, "-R", "-x", "/user-data")).isEqualTo("#cloud-config\n");
    }
    disks.remove("vm-1");
    assertThat(dir.resolve("vm-1")).doesNotExist();
  }

  @Test
  @DisplayName("without the tool the launch is refused saying what to install, and nothing is left")
  void noTool() {
    CloudInitSeeds seeds = new CloudInitSeeds(new Overlays(dir, "qemu-img"), "/nonexistent/genisoimage");
    assertThatThrownBy(() -> seeds.open("vm-2", spec("#cloud-config\n")))
        .isInstanceOfSatisfying(ImageException.class, e -> {
          assertThat(e.kind()).isEqualTo(ImageException.Kind.UNAVAILABLE);
          assertThat(e.getMessage()).contains("cloud_init: this node cannot make the seed:")
              .contains("is not installed here (deploy/install-deps.sh installs it)");
        });
    assertThat(dir.resolve("vm-2")).isEmptyDirectory();
  }
}
