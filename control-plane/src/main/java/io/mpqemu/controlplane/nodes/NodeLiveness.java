package io.mpqemu.controlplane.nodes;

import io.mpqemu.controlplane.leadership.Leadership;
import io.mpqemu.controlplane.records.VmRecords;
import io.mpqemu.controlplane.store.Change;
import io.mpqemu.controlplane.store.StoreExecutor;
import io.mpqemu.controlplane.store.StoredNode;
import io.mpqemu.v1.EventType;
import io.mpqemu.v1.NodeHeartbeat;
import io.mpqemu.v1.NodeState;
import io.mpqemu.v1.VmEvent;
import io.mpqemu.wire.Timestamps;
import java.time.Duration;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Whether each node is alive, from its heartbeats and their silence: every change of a node's state is
 * stored, recorded as a NODE_READY, NODE_NOT_READY or NODE_LOST event with one log line, and handed on
 * (to the reconciler, whose VMs follow). Runs on the control plane's event loop.
 */
public final class NodeLiveness {

  private static final Logger LOG = LoggerFactory.getLogger(NodeLiveness.class);

  private final NodeRegistry nodes;
  private final StoreExecutor store;
  private final VmRecords records;
  private final Duration notReadyAfter;
  private final Duration lostAfter;
  private final Consumer<NodeRegistry.Transition> then;
  private final Leadership leadership;

  /**
   * @param records where node events are committed (in order with VM changes)
   * @param then told of each transition once it is recorded
   * @param leadership transitions are recorded (and told) only while this control plane leads; a standby
   *     keeps its registry in memory, ready for when it leads
   */
  public NodeLiveness(NodeRegistry nodes, StoreExecutor store, VmRecords records, Duration notReadyAfter,
      Duration lostAfter, Consumer<NodeRegistry.Transition> then, Leadership leadership) {
    this.leadership = leadership;
    this.nodes = nodes;
    this.store = store;
    this.records = records;
    this.notReadyAfter = notReadyAfter;
    this.lostAfter = lostAfter;
    this.then = then;
  }

  public void onHeartbeat(NodeHeartbeat beat) {
    NodeRegistry.Transition t = nodes.heartbeat(beat, records.clock().instant());
    if (t != null) {
      changed(t);
    }
  }

  /** Called periodically: nodes that went silent become NOT_READY, then LOST. */
  public void check() {
    for (NodeRegistry.Transition t : nodes.check(records.clock().instant())) {
      changed(t);
    }
  }

  private void changed(NodeRegistry.Transition t) {
    StoredNode n = t.node();
    EventType type = switch (t.to()) {
      case NODE_STATE_READY -> EventType.NODE_READY;
      case NODE_STATE_NOT_READY -> EventType.NODE_NOT_READY;
      default -> EventType.NODE_LOST;
    };
    String message = switch (t.to()) {
      case NODE_STATE_READY -> "node " + n.id() + " is ready at " + n.endpoint() + " (" + n.info().getAccelerator() + ", "
          + n.info().getCapacity().getMemoryMib() + " MiB)";
      case NODE_STATE_NOT_READY -> "no heartbeat from node " + n.id() + " for " + notReadyAfter.toSeconds() + " s";
      default -> "no heartbeat from node " + n.id() + " for " + lostAfter.toSeconds() + " s; its VMs are UNKNOWN until it returns";
    };
    if (!leadership.leads()) {
      LOG.debug("node={} {} -> {} (standby: not recorded): {}", n.id(), t.from(), t.to(), message);
      return;
    }
    LOG.info("node={} {} -> {}: {}", n.id(), t.from(), t.to(), message);
    store.call(st -> {
      st.putNode(n);
      return null;
    });
    records.commit(Change.builder().event(VmEvent.newBuilder().setNode(n.id()).setType(type).setReason(reason(t.to()))
        .setMessage(message).setTime(Timestamps.of(records.clock().instant())).build()).build());
    then.accept(t);
  }

  private static String reason(NodeState to) {
    return switch (to) {
      case NODE_STATE_READY -> "NodeReady";
      case NODE_STATE_NOT_READY -> "NodeNotReady";
      default -> "NodeLost";
    };
  }
}
