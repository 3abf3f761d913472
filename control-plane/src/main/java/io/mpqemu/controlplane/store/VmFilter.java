package io.mpqemu.controlplane.store;

import io.mpqemu.v1.Phase;
import java.util.Map;

/**
 * Which VMs a listing wants; every part is optional.
 *
 * @param phase PHASE_UNSPECIFIED for any
 * @param node "" for any
 * @param labels the VM's labels must carry every entry
 */
public record VmFilter(Phase phase, String node, Map<String, String> labels) {

  public VmFilter {
    labels = Map.copyOf(labels);
  }

  public static VmFilter all() {
    return new VmFilter(Phase.PHASE_UNSPECIFIED, "", Map.of());
  }
}
