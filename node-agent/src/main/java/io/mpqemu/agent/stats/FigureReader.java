package io.mpqemu.agent.stats;

import java.util.Optional;

/** Reads the figures of one process by pid; blocking, so only on a worker. Empty once the process is gone. */
@FunctionalInterface
public interface FigureReader {

  Optional<ProcessFigures> read(long pid);

  /**
   * This reader's figures with {@code cgroup}'s memory figure added: where a cgroup reader plugs in,
   * so that every sample carries {@code cgroup_memory_bytes} without the sampler knowing cgroups.
   */
  default FigureReader withCgroupMemory(CgroupMemory cgroup) {
    return pid -> read(pid).map(f -> f.withCgroupMemory(cgroup.bytes(pid)));
  }
}
