package io.mpqemu.agent.state;

import java.time.Instant;

/** One QEMU process of a VM as recorded on disk: enough to find it again after an agent restart. */
public record ProcessRecord(String name, long pid, Instant startedAt) {

  public boolean isMain() {
    return VmPaths.MAIN.equals(name);
  }
}
