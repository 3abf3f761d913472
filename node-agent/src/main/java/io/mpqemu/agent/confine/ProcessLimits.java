package io.mpqemu.agent.confine;

/**
 * What one QEMU process may use. {@code nofile} and core dumps (always none) are rlimits; the rest
 * are cgroup limits, enforced where the host offers the controller.
 *
 * @param memoryBytes 0 for no limit of its own (the VM's group still bounds it)
 * @param cpus CPU time per wall second, in CPUs; 0 for no quota
 */
public record ProcessLimits(long nofile, long pids, long memoryBytes, double cpus) {

  public ProcessLimits {
    if (nofile < 16 || pids < 1 || memoryBytes < 0 || cpus < 0) {
      throw new IllegalArgumentException("process limits need nofile >= 16, pids >= 1, memory and cpus >= 0");
    }
  }
}
