package io.mpqemu.wire;

import io.mpqemu.v1.Phase;
import java.util.Locale;

/** How a {@link Phase} reads in messages and metric labels. */
public final class Phases {

  private Phases() {}

  /** {@code PHASE_RUNNING} as {@code running}. */
  public static String name(Phase phase) {
    return phase.name().replace("PHASE_", "").toLowerCase(Locale.ROOT);
  }
}
