package io.mpqemu.spec;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.mpqemu.v1.CloudInit;
import io.mpqemu.v1.Disk;
import io.mpqemu.v1.ProxiedDevice;
import io.mpqemu.v1.VmSpec;
import java.nio.charset.StandardCharsets;
import java.util.Set;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

class CloudInitSeedTest {

  private static VmSpec.Builder spec() {
    return VmSpec.newBuilder().setName("web").setMemoryMib(64)
        .addDevices(ProxiedDevice.newBuilder().setId("vblk0").setDriver("virtio-blk-pci")
            .addDisks(Disk.newBuilder().setId("root").setBase("debian-12")));
  }

  private static VmSpec withCloudInit(UnaryOperator<CloudInit.Builder> ci) {
    return spec().setCloudInit(ci.apply(CloudInit.newBuilder())).build();
  }

  private static void refused(VmSpec spec, NodeLimits limits, String field, String message) {
    assertThatThrownBy(() -> SpecValidator.validate(spec, limits))
        .isInstanceOfSatisfying(InvalidSpecException.class, e -> {
          assertThat(e.field()).isEqualTo(field);
          assertThat(e.getMessage()).contains(message);
        });
  }

  @Test
  @DisplayName("user data up to 64 KiB is taken; one byte more, a NUL, or JSON meta data is refused naming the field")
  void bounds() {
    String max = "#cloud-config\n" + "a".repeat(CloudInitSeed.MAX_USER_DATA_BYTES - 14);
    assertThat(max.getBytes(StandardCharsets.UTF_8)).hasSize(CloudInitSeed.MAX_USER_DATA_BYTES);
    assertThatCode(() -> SpecValidator.validate(withCloudInit(c -> c.setUserData(max)), NodeLimits.defaults()))
        .doesNotThrowAnyException();
    refused(withCloudInit(c -> c.setUserData(max + "é")), NodeLimits.defaults(), "cloud_init.user_data",
        "is 65538 bytes: keep it to 65536");
    refused(withCloudInit(c -> c.setUserData("#cloud-config\n\0")), NodeLimits.defaults(), "cloud_init.user_data",
        "NUL character at position 14");
    refused(withCloudInit(c -> c.setMetaData("x".repeat(16385))), NodeLimits.defaults(), "cloud_init.meta_data",
        "keep it to 16384");
    refused(withCloudInit(c -> c.setNetworkConfig("x".repeat(16385))), NodeLimits.defaults(),
        "cloud_init.network_config", "keep it to 16384");
    refused(withCloudInit(c -> c.setMetaData("# seed\n{\"instance-id\": \"x\"}")), NodeLimits.defaults(),
        "cloud_init.meta_data", "YAML block mapping");
  }

  @Test
  @DisplayName("the seed's id is the VM's own only without cloud_init; the seed counts against the node's devices and needs virtio-blk-pci")
  void theSeedsDevice() {
    VmSpec named = spec().addDevices(ProxiedDevice.newBuilder().setId("cidata").setDriver("nvme")
        .addDisks(Disk.newBuilder().setId("data").setImage("d.img"))).build();
    assertThatCode(() -> SpecValidator.validate(named, NodeLimits.defaults())).doesNotThrowAnyException();
    refused(named.toBuilder().setCloudInit(CloudInit.getDefaultInstance()).build(), NodeLimits.defaults(),
        "devices[1].id", "is the cloud-init seed's device");
    VmSpec diskNamed = spec().addDevices(ProxiedDevice.newBuilder().setId("nvme0").setDriver("nvme")
        .addDisks(Disk.newBuilder().setId("cidata").setImage("d.img"))).setCloudInit(CloudInit.getDefaultInstance())
        .build();
    refused(diskNamed, NodeLimits.defaults(), "devices[1].disks[0].id", "is the cloud-init seed's disk");

    NodeLimits oneDevice = new NodeLimits(SpecValidator.KNOWN_DRIVERS, 1024, 2, 1, 1);
    assertThatCode(() -> SpecValidator.validate(spec().build(), oneDevice)).doesNotThrowAnyException();
    refused(withCloudInit(c -> c), oneDevice, "cloud_init", "allows at most 1 per VM");
    NodeLimits noVirtio = new NodeLimits(Set.of("virtio-blk-pci", "nvme"), 1024, 2, 8, 1);
    assertThatCode(() -> SpecValidator.validate(withCloudInit(c -> c), noVirtio)).doesNotThrowAnyException();
    VmSpec onNvme = VmSpec.newBuilder().setName("web").setMemoryMib(64)
        .addDevices(ProxiedDevice.newBuilder().setId("nvme0").setDriver("nvme")
            .addDisks(Disk.newBuilder().setId("root").setBase("debian-12")))
        .setCloudInit(CloudInit.getDefaultInstance()).build();
    refused(onNvme, new NodeLimits(Set.of("nvme"), 1024, 2, 8, 1), "cloud_init", "which this node does not allow");
  }

  @Test
  @DisplayName("the VM runs its own devices, then the seed's read-only raw disk on a virtio-blk-pci")
  void devices() {
    assertThat(CloudInitSeed.devicesOf(spec().build())).extracting(ProxiedDevice::getId).containsExactly("vblk0");
    var devices = CloudInitSeed.devicesOf(withCloudInit(c -> c.setUserData("#cloud-config\n")));
    assertThat(devices).extracting(ProxiedDevice::getId).containsExactly("vblk0", "cidata");
    ProxiedDevice seed = devices.get(1);
    assertThat(seed.getDriver()).isEqualTo("virtio-blk-pci");
    assertThat(seed.getDisksList()).singleElement().satisfies(d -> {
      assertThat(d.getId()).isEqualTo("cidata");
      assertThat(d.getReadOnly()).isTrue();
      assertThat(d.getFormat()).isEqualTo("raw");
    });
  }

  @Test
  @DisplayName("meta-data gets instance-id (the VM id) and local-hostname (its name) unless it sets them; network-config only when given")
  void files() {
    var files = CloudInitSeed.files("vm-7", withCloudInit(c -> c.setUserData("#cloud-config\nhostname: a\n")));
    assertThat(files.keySet()).containsExactly("meta-data", "user-data");
    assertThat(new String(files.get("meta-data"), StandardCharsets.UTF_8))
        .isEqualTo("instance-id: vm-7\nlocal-hostname: web\n");
    assertThat(new String(files.get("user-data"), StandardCharsets.UTF_8)).isEqualTo("#cloud-config\nhostname: a\n");

    var own = CloudInitSeed.files("vm-7", withCloudInit(c -> c.setMetaData("local-hostname: db\nzone: b")
        .setNetworkConfig("version: 2\n")));
    assertThat(own.keySet()).containsExactly("meta-data", "user-data", "network-config");
    assertThat(new String(own.get("meta-data"), StandardCharsets.UTF_8))
        .isEqualTo("instance-id: vm-7\nlocal-hostname: db\nzone: b\n");
    // a nested key of the same name is not the top-level one
    assertThat(CloudInitSeed.metaData("vm-7", "web", "tags:\n  instance-id: x\n"))
        .startsWith("instance-id: vm-7\nlocal-hostname: web\ntags:");
  }
}
