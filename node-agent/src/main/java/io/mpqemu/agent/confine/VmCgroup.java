package io.mpqemu.agent.confine;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/** One VM's groups, in each hierarchy the agent uses. Blocking. */
public final class VmCgroup {

  private final boolean v2;
  private final Map<String, Path> dirs;

  VmCgroup(boolean v2, Map<String, Path> dirs) {
    this.v2 = v2;
    this.dirs = Map.copyOf(dirs);
  }

  /** The cgroup.procs files {@code process} ("main", "dev-<id>") writes its pid to before it runs QEMU. */
  public List<Path> procsFiles(String process) {
    return Cgroups.procsFiles(dirs, v2, process);
  }

  /** Memory charged to the process's group; 0 without a memory controller or group. */
  public long memoryBytes(String process) {
    Path dir = dirs.get("memory");
    if (dir == null) {
      return 0;
    }
    String s = Cgroups.read(dir.resolve(process).resolve(v2 ? "memory.current" : "memory.usage_in_bytes"));
    return s.isEmpty() ? 0 : Long.parseLong(s);
  }

  /**
   * Removes the groups once every process in them is gone. A process the agent saw exit may still
   * be a zombie in its group for a moment (it is reaped just after), so this tries for up to 2 s; a
   * group that still holds a process then stays, and false is returned.
   */
  public boolean remove() {
    long deadline = System.nanoTime() + 2_000_000_000L;
    while (!removeOnce()) {
      if (System.nanoTime() > deadline) {
        return false;
      }
      try {
        Thread.sleep(20);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return false;
      }
    }
    return true;
  }

  private boolean removeOnce() {
    boolean all = true;
    for (Path dir : dirs.values()) {
      all &= Cgroups.removeBelow(dir, true);
    }
    return all;
  }
}
