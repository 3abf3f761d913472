package io.mpqemu.agent.state;

import java.time.Instant;

/**
 * One QEMU process of a VM as recorded on disk: enough to find it again after an agent restart.
 *
 * @param uid the uid it runs as; 0 when the agent ran with confinement off
 */
public record ProcessRecord(String name, long pid, Instant startedAt, long uid) {

  public boolean isMain() {
    return VmPaths.MAIN.equals(name);
  }
}
