package io.mpqemu.controlplane.nodes;

import io.mpqemu.controlplane.store.StoredNode;
import io.mpqemu.v1.NodeHeartbeat;
import io.mpqemu.v1.NodeState;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What the control plane knows of each node, from heartbeats. Pure: the caller feeds it heartbeats
 * and the time, and acts on the transitions it returns. Runs on the control plane's event loop.
 */
public final class NodeRegistry {

  /** A node changed state. */
  public record Transition(StoredNode node, NodeState from, NodeState to) {}

  private final Duration notReadyAfter;
  private final Duration lostAfter;
  private final Map<String, StoredNode> nodes = new LinkedHashMap<>();
  private long heartbeats;

  public NodeRegistry(Duration notReadyAfter, Duration lostAfter) {
    this.notReadyAfter = notReadyAfter;
    this.lostAfter = lostAfter;
  }

  /** Nodes loaded from the store at start-up: none is READY until it is heard from again. */
  public void load(Collection<StoredNode> stored, Instant now) {
    for (StoredNode n : stored) {
      NodeState state = n.state() == NodeState.NODE_STATE_LOST ? NodeState.NODE_STATE_LOST : NodeState.NODE_STATE_NOT_READY;
      // the silence is counted from now: a restarted control plane gives every node a fresh chance
      nodes.put(n.id(), new StoredNode(n.id(), n.endpoint(), state, n.info(), now));
    }
  }

  /** Records a heartbeat; a transition when the node was new or not READY. */
  public Transition heartbeat(NodeHeartbeat beat, Instant now) {
    heartbeats++;
    StoredNode before = nodes.get(beat.getNodeId());
    StoredNode after = new StoredNode(beat.getNodeId(), beat.getEndpoint(), NodeState.NODE_STATE_READY, beat.getInfo(), now);
    nodes.put(after.id(), after);
    NodeState from = before == null ? NodeState.NODE_STATE_UNSPECIFIED : before.state();
    return from == NodeState.NODE_STATE_READY && before.endpoint().equals(after.endpoint()) ? null
        : new Transition(after, from, NodeState.NODE_STATE_READY);
  }

  /** Nodes whose silence crossed a threshold since the last check. */
  public List<Transition> check(Instant now) {
    List<Transition> changed = new ArrayList<>();
    for (StoredNode n : List.copyOf(nodes.values())) {
      Duration silent = Duration.between(n.lastHeartbeat(), now);
      NodeState to = n.state();
      if (silent.compareTo(lostAfter) >= 0) {
        to = NodeState.NODE_STATE_LOST;
      } else if (silent.compareTo(notReadyAfter) >= 0 && n.state() == NodeState.NODE_STATE_READY) {
        to = NodeState.NODE_STATE_NOT_READY;
      }
      if (to != n.state()) {
        StoredNode next = new StoredNode(n.id(), n.endpoint(), to, n.info(), n.lastHeartbeat());
        nodes.put(n.id(), next);
        changed.add(new Transition(next, n.state(), to));
      }
    }
    return changed;
  }

  /** Heartbeats received since start, for metrics. */
  public long heartbeatsReceived() {
    return heartbeats;
  }

  /** Every known node, by id (a stable order for listings). */
  public List<StoredNode> all() {
    return nodes.values().stream().sorted(java.util.Comparator.comparing(StoredNode::id)).toList();
  }

  public StoredNode get(String id) {
    return nodes.get(id);
  }

  public boolean isReady(String id) {
    StoredNode n = nodes.get(id);
    return n != null && n.state() == NodeState.NODE_STATE_READY;
  }
}
