package io.mpqemu.controlplane.scheduling;

import io.mpqemu.v1.NodeInfo;
import io.mpqemu.v1.NodeState;
import java.util.Objects;

/** A node as placement sees it: its id, whether it is ready, and what it offers. */
public record NodeView(String id, NodeState state, NodeInfo info) {

  public NodeView {
    Objects.requireNonNull(id, "id");
    Objects.requireNonNull(state, "state");
    Objects.requireNonNull(info, "info");
  }
}
