package io.mpqemu.spec;

import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.mpqemu.v1.Disk;
import io.mpqemu.v1.ProxiedDevice;
import io.mpqemu.v1.VmSpec;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

class DiskSourcesTest {

  private static VmSpec with(UnaryOperator<Disk.Builder> disk) {
    return VmSpec.newBuilder().setName("web").setMemoryMib(64)
        .addDevices(ProxiedDevice.newBuilder().setId("vblk0").setDriver("virtio-blk-pci")
            .addDisks(disk.apply(Disk.newBuilder().setId("root"))))
        .build();
  }

  private static void refused(UnaryOperator<Disk.Builder> disk, String field, String message) {
    assertThatThrownBy(() -> SpecValidator.validate(with(disk), NodeLimits.defaults()))
        .isInstanceOfSatisfying(InvalidSpecException.class, e -> {
          org.assertj.core.api.Assertions.assertThat(e.field()).isEqualTo(field);
          org.assertj.core.api.Assertions.assertThat(e.getMessage()).contains(message);
        });
  }

  @Test
  @DisplayName("a disk is an image or a VM's own disk over a catalog base, sized at least as the base")
  void imageOrBase() {
    assertThatCode(() -> SpecValidator.validate(with(d -> d.setBase("debian-12").setSizeGib(20)), NodeLimits.defaults()))
        .doesNotThrowAnyException();
    assertThatCode(() -> SpecValidator.validate(with(d -> d.setImage("a.img")), NodeLimits.defaults()))
        .doesNotThrowAnyException();
    refused(d -> d.setImage("a.img").setBase("debian-12"), "devices[0].disks[0].base", "names both an image and a base");
    refused(d -> d.setBase("../x"), "devices[0].disks[0].base", "is not a catalog name");
    refused(d -> d.setBase("debian-12").setFormat("raw"), "devices[0].disks[0].format", "always a qcow2 overlay");
    refused(d -> d.setBase("debian-12").setReadOnly(true), "devices[0].disks[0].read_only", "the base is never written");
    refused(d -> d.setBase("debian-12").setSizeGib(20000), "devices[0].disks[0].size_gib", "over 16384 GiB");
    refused(d -> d.setImage("a.img").setSizeGib(2), "devices[0].disks[0].size_gib", "set base");
    refused(d -> d, "devices[0].disks[0].image", "is required");
  }
}
