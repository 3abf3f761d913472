package io.mpqemu.wire;

/**
 * The Vert.x event bus addresses agents publish on and control planes consume, each message the
 * protobuf JSON form of its type.
 */
public final class BusAddresses {

  private BusAddresses() {}

  /** Lifecycle events: {@code mpqemu.v1.VmEvent}. */
  public static final String VM_EVENTS = "mpqemu.vm.events";

  /** Node heartbeats: {@code mpqemu.v1.NodeHeartbeat}, every few seconds from each agent. */
  public static final String HEARTBEATS = "mpqemu.node.heartbeat";
}
