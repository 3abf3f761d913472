package io.mpqemu.agent.confine;

/**
 * How the agent confines QEMU processes, from its configuration.
 *
 * @param enabled false only with {@code --confinement=off}
 * @param uids the uids (and gids) processes run as
 * @param nofile RLIMIT_NOFILE of every QEMU process
 * @param devicePids the pids (tasks: threads count) limit of each device process
 * @param mainPids the same of each main QEMU, besides one per vCPU
 */
public record ConfinementSettings(boolean enabled, UidRange uids, long nofile, long devicePids, long mainPids) {

  public static final ConfinementSettings DEFAULT = new ConfinementSettings(true, UidRange.DEFAULT, 1024, 128, 256);

  public ConfinementSettings {
    if (nofile < 16 || devicePids < 1 || mainPids < 1) {
      throw new IllegalArgumentException("confinement limits need nofile >= 16 and pids limits >= 1");
    }
  }

  public ConfinementSettings withEnabled(boolean on) {
    return new ConfinementSettings(on, uids, nofile, devicePids, mainPids);
  }

  public ConfinementSettings withUids(UidRange range) {
    return new ConfinementSettings(enabled, range, nofile, devicePids, mainPids);
  }

  public ConfinementSettings withDeviceLimits(long files, long pids) {
    return new ConfinementSettings(enabled, uids, files, pids, mainPids);
  }
}
