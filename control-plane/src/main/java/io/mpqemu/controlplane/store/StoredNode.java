package io.mpqemu.controlplane.store;

import io.mpqemu.v1.NodeInfo;
import io.mpqemu.v1.NodeState;
import java.time.Instant;

/** A node as the control plane last saw it. */
public record StoredNode(String id, String endpoint, NodeState state, NodeInfo info, Instant lastHeartbeat) {}
