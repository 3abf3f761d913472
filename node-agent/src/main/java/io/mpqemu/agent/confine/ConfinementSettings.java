package io.mpqemu.agent.confine;

/**
 * How the agent confines QEMU processes, from its configuration.
 *
 * @param enabled false only with {@code --confinement=off}
 * @param uids the uids (and gids) processes run as
 * @param nofile RLIMIT_NOFILE of each main QEMU
 * @param deviceNofile RLIMIT_NOFILE of each device process
 * @param devicePids the pids (tasks: threads count) limit of each device process
 * @param mainPids the same of each main QEMU, besides one per vCPU
 */
public record ConfinementSettings(boolean enabled, UidRange uids, long nofile, long deviceNofile, long devicePids,
    long mainPids) {

  public static final ConfinementSettings DEFAULT = new ConfinementSettings(true, UidRange.DEFAULT, 1024, 1024, 128, 256);

  public ConfinementSettings {
    if (nofile < 16 || deviceNofile < 16 || devicePids < 1 || mainPids < 1) {
      throw new IllegalArgumentException("confinement limits need nofile >= 16 and pids limits >= 1");
    }
  }

  public ConfinementSettings withEnabled(boolean on) {
    return new ConfinementSettings(on, uids, nofile, deviceNofile, devicePids, mainPids);
  }

  public ConfinementSettings withUids(UidRange range) {
    return new ConfinementSettings(enabled, range, nofile, deviceNofile, devicePids, mainPids);
  }

  /** The same with these limits for device processes. */
  public ConfinementSettings withDeviceLimits(long files, long pids) {
    return new ConfinementSettings(enabled, uids, nofile, files, pids, mainPids);
  }
}
