package io.mpqemu.metrics;

import io.mpqemu.v1.Phase;
import io.mpqemu.wire.Phases;
import java.util.Arrays;

/** The {@code mpqemu_vms{phase}} gauge both services export. */
public final class PhaseSeries {

  private PhaseSeries() {}

  /** A series per phase from the start (0 when no VM is in it); {@code unspecified} only once a VM is counted there. */
  public static EnumGauge<Phase> gauge(ServiceMeters meters, String help) {
    return new EnumGauge<>(meters, "mpqemu_vms", help, "phase", Phase.class,
        p -> p == Phase.UNRECOGNIZED ? null : Phases.name(p),
        Arrays.stream(Phase.values()).filter(p -> p != Phase.UNRECOGNIZED && p != Phase.PHASE_UNSPECIFIED).toList());
  }
}
