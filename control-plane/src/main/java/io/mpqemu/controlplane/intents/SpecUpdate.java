package io.mpqemu.controlplane.intents;

import io.mpqemu.errors.Echo;
import io.mpqemu.spec.InvalidSpecException;
import io.mpqemu.v1.VmSpec;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/** What UpdateVm may change in a stored spec, and how: the fields an update mask names, replaced whole. */
final class SpecUpdate {

  /** The paths an update mask may name. */
  static final List<String> FIELDS = List.of("labels", "node_selector", "restart_policy");

  private SpecUpdate() {}

  /** {@code current} with the fields {@code paths} names taken from {@code values}. */
  static VmSpec apply(VmSpec current, VmSpec values, List<String> paths) {
    if (paths.isEmpty()) {
      throw new InvalidSpecException("update_mask", "update_mask names no field; name one or more of " + String.join(", ", FIELDS));
    }
    Set<String> seen = new LinkedHashSet<>();
    VmSpec.Builder next = current.toBuilder();
    for (String path : paths) {
      if (!seen.add(path)) {
        throw new InvalidSpecException("update_mask", "update_mask names " + path + " twice");
      }
      switch (path) {
        case "labels" -> next.clearLabels().putAllLabels(values.getLabelsMap());
        case "node_selector" -> next.clearNodeSelector().putAllNodeSelector(values.getNodeSelectorMap());
        case "restart_policy" -> next.setRestartPolicy(values.getRestartPolicy());
        default -> throw new InvalidSpecException("update_mask", "update_mask may name " + String.join(", ", FIELDS) + ", not '"
            + Echo.of(path) + "'; to change anything else, create a new VM");
      }
    }
    return next.build();
  }
}
