package io.mpqemu.agent.stats;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Reads what the memory controller charged to a process's own cgroup: the group the agent made for
 * it (its path holds {@code /mpqemu-}), found through {@code /proc/<pid>/cgroup}; 0 for a process in
 * another group (confinement off) or a host without the controller. Blocking.
 */
public final class OwnCgroupMemory implements CgroupMemory {

  private static final Path ROOT = Path.of("/sys/fs/cgroup");

  @Override
  public long bytes(long pid) {
    try {
      for (String line : Files.readAllLines(Path.of("/proc/" + pid + "/cgroup"), StandardCharsets.US_ASCII)) {
        String[] f = line.split(":", 3);
        if (f.length != 3 || !f[2].contains("/mpqemu-")) {
          continue;
        }
        if (f[0].equals("0") && f[1].isEmpty()) {
          return read(ROOT.resolve(f[2].substring(1)).resolve("memory.current"));
        }
        for (String controller : f[1].split(",")) {
          if (controller.equals("memory")) {
            return read(ROOT.resolve("memory").resolve(f[2].substring(1)).resolve("memory.usage_in_bytes"));
          }
        }
      }
    } catch (IOException | RuntimeException e) {
      // gone meanwhile
    }
    return 0;
  }

  private static long read(Path file) throws IOException {
    if (!Files.isRegularFile(file)) {
      return 0;
    }
    return Long.parseLong(Files.readString(file, StandardCharsets.US_ASCII).strip());
  }
}
