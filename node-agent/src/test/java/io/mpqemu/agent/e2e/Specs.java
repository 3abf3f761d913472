package io.mpqemu.agent.e2e;

import io.mpqemu.v1.Disk;
import io.mpqemu.v1.ProxiedDevice;
import io.mpqemu.v1.VmSpec;

/** VM specs the tests use. */
final class Specs {

  private Specs() {}

  /** The multi-process document's example: one lsi53c895a in a remote process with one SCSI disk. */
  static VmSpec lsi(String name, String image) {
    return VmSpec.newBuilder().setName(name).setMemoryMib(64)
        .addDevices(ProxiedDevice.newBuilder().setId("lsi0").setDriver("lsi53c895a")
            .addDisks(Disk.newBuilder().setId("boot").setImage(image)))
        .build();
  }

  static ProxiedDevice device(String id, String driver, String diskId, String image) {
    return ProxiedDevice.newBuilder().setId(id).setDriver(driver)
        .addDisks(Disk.newBuilder().setId(diskId).setImage(image)).build();
  }
}
