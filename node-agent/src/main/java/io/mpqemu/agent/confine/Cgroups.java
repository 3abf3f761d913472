package io.mpqemu.agent.confine;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The cgroups of this agent's QEMU processes: one group per VM and one per process under it, with
 * the {@code cpu}, {@code memory} and {@code pids} controllers the host offers. On cgroup v1 (one
 * hierarchy per controller) the groups go under the agent's own group of each hierarchy, so a
 * limit the agent runs under still bounds its VMs; on v2 under {@code mpqemu-<key>} at the top.
 * Blocking.
 */
public final class Cgroups {

  /** The controllers asked for, in the order reported. */
  static final List<String> CONTROLLERS = List.of("cpu", "memory", "pids");

  private static final Path ROOT = Path.of("/sys/fs/cgroup");
  private static final long CFS_PERIOD_US = 100_000;

  private final boolean v2;
  /** Controller to the directory under which VM groups are made. */
  private final Map<String, Path> bases;

  private Cgroups(boolean v2, Map<String, Path> bases) {
    this.v2 = v2;
    this.bases = Map.copyOf(bases);
  }

  /** What this host offers this agent ({@code key} tells its groups from another agent's). */
  public static Cgroups detect(String key) {
    Map<String, Path> bases = new LinkedHashMap<>();
    Path unified = ROOT.resolve("cgroup.controllers");
    if (Files.isRegularFile(unified)) {
      String offered = read(unified);
      Path base = ROOT.resolve("mpqemu-" + key);
      for (String c : CONTROLLERS) {
        if (List.of(offered.split("\\s+")).contains(c) && enable(ROOT, c) && mkdirs(base) && enable(base, c)) {
          bases.put(c, base);
        }
      }
      return new Cgroups(true, bases);
    }
    for (String c : CONTROLLERS) {
      Path mount = ROOT.resolve(c);
      String own = ownGroup(c);
      if (own != null && Files.isRegularFile(mount.resolve("cgroup.procs"))) {
        Path base = mount.resolve(own.substring(1)).resolve("mpqemu-" + key);
        if (mkdirs(base)) {
          bases.put(c, base);
        }
      }
    }
    return new Cgroups(false, bases);
  }

  /** The name part that tells the groups of the agent with {@code stateDir} from another agent's. */
  public static String keyFor(Path stateDir) {
    return Integer.toHexString(stateDir.toAbsolutePath().normalize().toString().hashCode());
  }

  /**
   * Removes every group of this agent that holds no process: what an agent that died left of VMs
   * that are gone. Groups of running (adopted) VMs hold processes and stay.
   */
  void prune() {
    for (Path base : new java.util.LinkedHashSet<>(bases.values())) {
      removeBelow(base, false);
    }
  }

  /** When the agent stops: its groups that hold no process go, and its own top group if it is empty. */
  void pruneAll() {
    for (Path base : new java.util.LinkedHashSet<>(bases.values())) {
      removeBelow(base, true);
    }
  }

  /**
   * Removes the groups under {@code top} (and {@code top} itself when {@code withTop}), deepest
   * first; a group that holds a process stays. True if every one went.
   */
  static boolean removeBelow(Path top, boolean withTop) {
    if (!Files.isDirectory(top)) {
      return true;
    }
    List<Path> dirs;
    try (java.util.stream.Stream<Path> tree = Files.walk(top)) {
      dirs = tree.filter(p -> Files.isDirectory(p) && (withTop || !p.equals(top)))
          .sorted(java.util.Comparator.reverseOrder()).toList();
    } catch (IOException | java.io.UncheckedIOException e) {
      return false;
    }
    boolean all = true;
    for (Path dir : dirs) {
      try {
        Files.deleteIfExists(dir);
      } catch (IOException e) {
        all = false; // holds a process, or a group that does
      }
    }
    return all;
  }

  /** For the start-up line and GetNodeInfo, e.g. "cgroup v1 cpu,memory,pids". */
  public String describe() {
    if (bases.isEmpty()) {
      return "no cgroup controller (cpu, memory and pids limits not enforced)";
    }
    return "cgroup " + (v2 ? "v2 " : "v1 ") + String.join(",", bases.keySet());
  }

  public boolean enforces(String controller) {
    return bases.containsKey(controller);
  }

  /**
   * Makes (or, after an agent restart, finds) the VM's group, bounded by {@code vm}, and a group per
   * process under it, bounded by its limits.
   */
  public VmCgroup create(String vmId, ProcessLimits vm, Map<String, ProcessLimits> processes) throws IOException {
    Map<String, Path> vmDirs = new LinkedHashMap<>();
    for (Map.Entry<String, Path> e : bases.entrySet()) {
      Path dir = e.getValue().resolve(vmId);
      Files.createDirectories(dir);
      vmDirs.put(e.getKey(), dir);
      if (v2) {
        enable(dir, e.getKey());
      }
      limit(e.getKey(), dir, vm);
      for (Map.Entry<String, ProcessLimits> p : processes.entrySet()) {
        Path pdir = Files.createDirectories(dir.resolve(p.getKey()));
        limit(e.getKey(), pdir, p.getValue());
      }
    }
    return new VmCgroup(v2, vmDirs);
  }

  /** The VM's groups, without creating or limiting anything: for reading figures and removal. */
  public VmCgroup existing(String vmId) {
    Map<String, Path> vmDirs = new LinkedHashMap<>();
    bases.forEach((c, base) -> vmDirs.put(c, base.resolve(vmId)));
    return new VmCgroup(v2, vmDirs);
  }

  private void limit(String controller, Path dir, ProcessLimits l) throws IOException {
    switch (controller) {
      case "pids" -> write(dir.resolve("pids.max"), Long.toString(l.pids()));
      case "memory" -> {
        if (l.memoryBytes() > 0) {
          write(dir.resolve(v2 ? "memory.max" : "memory.limit_in_bytes"), Long.toString(l.memoryBytes()));
        }
      }
      case "cpu" -> {
        if (l.cpus() > 0) {
          long quota = Math.max(1000, Math.round(l.cpus() * CFS_PERIOD_US));
          if (v2) {
            write(dir.resolve("cpu.max"), quota + " " + CFS_PERIOD_US);
          } else {
            write(dir.resolve("cpu.cfs_period_us"), Long.toString(CFS_PERIOD_US));
            write(dir.resolve("cpu.cfs_quota_us"), Long.toString(quota));
          }
        }
      }
      default -> throw new IllegalArgumentException("not a controller: " + controller);
    }
  }

  static void write(Path file, String value) throws IOException {
    Files.writeString(file, value, StandardCharsets.US_ASCII);
  }

  private static String ownGroup(String controller) {
    return groupOf("self", controller, false);
  }

  /**
   * The group of process {@code pid} ("self" for the agent) in the v1 hierarchy of
   * {@code controller}, or else, when {@code orUnified}, its v2 group. Null when it has none.
   */
  private static String groupOf(String pid, String controller, boolean orUnified) {
    String unified = null;
    for (String line : read(Path.of("/proc/" + pid + "/cgroup")).split("\n")) {
      String[] f = line.split(":", 3);
      if (f.length != 3) {
        continue;
      }
      if (List.of(f[1].split(",")).contains(controller)) {
        return f[2];
      }
      if (f[0].equals("0") && f[1].isEmpty()) {
        unified = f[2];
      }
    }
    return orUnified ? unified : null;
  }

  /**
   * Memory charged to the group of {@code pid} if it is one the agent made (its path holds
   * {@code /mpqemu-}); 0 otherwise, or without a memory controller.
   */
  public static long memoryOf(long pid) {
    String group = groupOf(Long.toString(pid), "memory", true);
    if (group == null || !group.contains("/mpqemu-")) {
      return 0;
    }
    Path v1 = ROOT.resolve("memory").resolve(group.substring(1)).resolve("memory.usage_in_bytes");
    String bytes = read(Files.isRegularFile(v1) ? v1 : ROOT.resolve(group.substring(1)).resolve("memory.current"));
    return bytes.isEmpty() ? 0 : Long.parseLong(bytes);
  }

  private static boolean enable(Path dir, String controller) {
    try {
      write(dir.resolve("cgroup.subtree_control"), "+" + controller);
      return true;
    } catch (IOException e) {
      return false;
    }
  }

  private static boolean mkdirs(Path dir) {
    try {
      Files.createDirectories(dir);
      return true;
    } catch (IOException e) {
      return false;
    }
  }

  /** The file's content, stripped; "" when it cannot be read (gone, or no such controller file). */
  static String read(Path file) {
    try {
      return Files.readString(file, StandardCharsets.US_ASCII).strip();
    } catch (IOException e) {
      return "";
    }
  }

  /** The paths a process joins: cgroup.procs of its group in each hierarchy. */
  static List<Path> procsFiles(Map<String, Path> vmDirs, boolean v2, String process) {
    List<Path> files = new ArrayList<>();
    for (Path dir : vmDirs.values()) {
      Path f = dir.resolve(process).resolve("cgroup.procs");
      if (!files.contains(f)) {
        files.add(f);
      }
      if (v2) {
        break;
      }
    }
    return files;
  }
}
