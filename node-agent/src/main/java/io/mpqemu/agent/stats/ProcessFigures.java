package io.mpqemu.agent.stats;

/**
 * What one live process costs the host at one moment, the figures {@code ProcessStatus} and /metrics
 * carry. {@code cgroupMemoryBytes} is 0 until a {@link CgroupMemory} reader fills it.
 *
 * @param cpuSeconds user + system CPU time since the process started
 * @param rssBytes its resident set size (VmRSS), guest RAM it has touched included
 * @param cgroupMemoryBytes memory charged to the process's own cgroup, 0 where none is known
 */
public record ProcessFigures(double cpuSeconds, long rssBytes, long cgroupMemoryBytes) {

  /** The same figures with the cgroup's memory set. */
  public ProcessFigures withCgroupMemory(long bytes) {
    return new ProcessFigures(cpuSeconds, rssBytes, bytes);
  }
}
