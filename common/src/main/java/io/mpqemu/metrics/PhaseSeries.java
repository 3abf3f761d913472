package io.mpqemu.metrics;

import io.mpqemu.v1.Phase;
import io.mpqemu.wire.Phases;
import java.util.Map;

/** The {@code mpqemu_vms{phase}} series both services export, one per phase. */
public final class PhaseSeries {

  private PhaseSeries() {}

  /** Every phase gets a series (0 when no VM is in it), so a phase that empties shows 0 rather than vanishing. */
  public static void set(Gauge gauge, Map<Phase, Integer> counts) {
    for (Phase p : Phase.values()) {
      if (p == Phase.UNRECOGNIZED || p == Phase.PHASE_UNSPECIFIED && !counts.containsKey(p)) {
        continue;
      }
      gauge.labels(Phases.name(p)).set(counts.getOrDefault(p, 0));
    }
  }
}
