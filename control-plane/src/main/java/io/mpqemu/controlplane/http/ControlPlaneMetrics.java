package io.mpqemu.controlplane.http;

import io.mpqemu.controlplane.events.EventLog;
import io.mpqemu.controlplane.events.EventSink;
import io.mpqemu.controlplane.nodes.NodeRegistry;
import io.mpqemu.controlplane.store.StoredNode;
import io.mpqemu.controlplane.vm.VmController;
import io.mpqemu.http.OnContext;
import io.mpqemu.metrics.Counter;
import io.mpqemu.metrics.Gauge;
import io.mpqemu.metrics.LaunchTracker;
import io.mpqemu.metrics.MetricsRegistry;
import io.mpqemu.metrics.PhaseSeries;
import io.mpqemu.v1.NodeState;
import io.mpqemu.v1.VmEvent;
import io.vertx.core.Context;
import io.vertx.core.Future;
import java.time.Clock;
import java.util.EnumMap;
import java.util.Locale;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The control plane's metrics: VMs by phase, nodes by state, heartbeats and the event log from the
 * control plane's own objects at each scrape; launches, failures and latency from the event log,
 * to which it subscribes live (from the log's end when it starts).
 */
public final class ControlPlaneMetrics {

  private static final Logger LOG = LoggerFactory.getLogger(ControlPlaneMetrics.class);

  private final Context controlPlane;
  private final VmController vms;
  private final NodeRegistry nodes;
  private final EventLog log;
  private final MetricsRegistry registry = new MetricsRegistry();
  private final Gauge vmsByPhase = registry.gauge("mpqemu_vms", "VMs by the phase last recorded.", "phase");
  private final Gauge nodesByState = registry.gauge("mpqemu_nodes", "Nodes by state.", "state");
  private final Counter heartbeats = registry.counter("mpqemu_node_heartbeats_total",
      "Node heartbeats received since the control plane started.");
  private final LaunchTracker launches;
  private final Counter events = registry.counter("mpqemu_events_total",
      "Events recorded in the event log since the control plane started.");
  private final Gauge lastSeq = registry.gauge("mpqemu_event_log_last_seq",
      "The seq of the last recorded event: the number of events in the log.");
  private final Gauge subscribers = registry.gauge("mpqemu_event_subscribers",
      "Event log subscribers (WatchEvents streams and /v1/events connections).");
  private Runnable unsubscribe;

  public ControlPlaneMetrics(Context controlPlane, VmController vms, NodeRegistry nodes, EventLog log, Clock clock) {
    this.controlPlane = controlPlane;
    this.vms = vms;
    this.nodes = nodes;
    this.log = log;
    this.launches = new LaunchTracker(registry, clock);
  }

  /** Subscribes to the event log from its end. Call on the control plane's context. */
  public void start() {
    unsubscribe = log.subscribe(log.lastSeq(), "", new Collector());
  }

  /** Call on the control plane's context. */
  public void stop() {
    if (unsubscribe != null) {
      unsubscribe.run();
      unsubscribe = null;
    }
  }

  /** Brings the gauges up to date on the control plane's context and renders every metric. */
  public Future<String> scrape() {
    return OnContext.call(controlPlane, () -> {
      PhaseSeries.set(vmsByPhase, vms.countByPhase());
      Map<NodeState, Integer> states = new EnumMap<>(NodeState.class);
      for (StoredNode n : nodes.all()) {
        states.merge(n.state(), 1, Integer::sum);
      }
      for (NodeState s : NodeState.values()) {
        if (s != NodeState.UNRECOGNIZED && s != NodeState.NODE_STATE_UNSPECIFIED) {
          nodesByState.labels(s.name().substring("NODE_STATE_".length()).toLowerCase(Locale.ROOT))
              .set(states.getOrDefault(s, 0));
        }
      }
      heartbeats.labels().setTotal(nodes.heartbeatsReceived());
      lastSeq.set(log.lastSeq());
      // this collector's own subscription is not counted
      subscribers.set(log.subscriberCount() - (unsubscribe != null ? 1 : 0));
      return Future.succeededFuture(registry.render());
    });
  }

  /** Takes every event at once: it only counts. */
  private final class Collector implements EventSink {
    @Override
    public boolean writable() {
      return true;
    }

    @Override
    public void write(VmEvent event) {
      events.inc();
      launches.accept(event);
    }

    @Override
    public void drainHandler(Runnable onDrain) {
      onDrain.run();
    }

    @Override
    public void overflow(long seq) {
      LOG.warn("the metrics collector was cut off from the event log at seq {}; launch metrics stop", seq);
      unsubscribe = null;
    }

    @Override
  public void complete() {
    // a live subscription never completes
  }

  @Override
    public void fail(Throwable cause) {
      LOG.warn("the metrics collector cannot read the event log ({}); launch metrics stop", cause.getMessage());
      unsubscribe = null;
    }
  }
}
