package io.mpqemu.controlplane.scheduling;

/** What placement decided for one VM. */
public sealed interface Decision {

  /** The VM goes on this node. */
  record Placed(String nodeId) implements Decision {}

  /**
   * No node fits now. {@code reason} is machine-readable ("Unschedulable"); {@code message} says for a
   * human why each node was passed over, counting nodes per cause.
   */
  record Unschedulable(String reason, String message) implements Decision {}
}
