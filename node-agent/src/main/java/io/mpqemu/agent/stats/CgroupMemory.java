package io.mpqemu.agent.stats;

/**
 * The memory charged to the cgroup a process runs in ({@code memory.current} on cgroup v2,
 * {@code memory.usage_in_bytes} on v1), the hook for {@code ProcessStatus.cgroup_memory_bytes} and
 * {@code mpqemu_process_cgroup_memory_bytes}. Called on a worker, after /proc was read; may block.
 */
@FunctionalInterface
public interface CgroupMemory {

  /** No memory controller known (yet): every process reports 0. */
  CgroupMemory NONE = pid -> 0;

  /** Bytes charged to {@code pid}'s cgroup, 0 when it has none of its own or the host offers no memory controller. */
  long bytes(long pid);
}
