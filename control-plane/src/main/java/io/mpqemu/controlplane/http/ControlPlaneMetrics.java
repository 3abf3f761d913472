package io.mpqemu.controlplane.http;

import io.micrometer.core.instrument.Counter;
import io.mpqemu.controlplane.events.EventLog;
import io.mpqemu.controlplane.events.EventSink;
import io.mpqemu.controlplane.nodes.NodeRegistry;
import io.mpqemu.controlplane.store.StoreExecutor;
import io.mpqemu.controlplane.store.StoredNode;
import io.mpqemu.controlplane.records.VmRecords;
import io.mpqemu.fleet.BusSignatures;
import io.mpqemu.http.OnContext;
import io.mpqemu.metrics.EnumGauge;
import io.mpqemu.metrics.LaunchTracker;
import io.mpqemu.metrics.PhaseSeries;
import io.mpqemu.metrics.ServiceMeters;
import io.mpqemu.metrics.ServiceRegistry;
import io.mpqemu.v1.NodeState;
import io.mpqemu.v1.Phase;
import io.mpqemu.v1.VmEvent;
import io.vertx.core.Context;
import io.vertx.core.Future;
import java.time.Clock;
import java.util.Arrays;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The control plane's metrics: VMs by phase, nodes by state, heartbeats and the event log from the
 * control plane's own objects at each scrape; launches, failures and latency from the event log,
 * to which it subscribes live (from the log's end when it starts). They go into the control plane's
 * registry, which /metrics renders with the JVM's, the process's and Vert.x's.
 */
public final class ControlPlaneMetrics {

  private static final Logger LOG = LoggerFactory.getLogger(ControlPlaneMetrics.class);

  private final Context controlPlane;
  private final VmRecords vms;
  private final NodeRegistry nodes;
  private final EventLog log;
  private final ServiceRegistry registry;
  private final ServiceMeters meters;
  private final EnumGauge<Phase> vmsByPhase;
  private final EnumGauge<NodeState> nodesByState;
  private final AtomicLong heartbeats;
  private final StoreExecutor store;
  private final AtomicLong groupCommits;
  private final AtomicLong groupedChanges;
  private final LaunchTracker launches;
  private final Counter events;
  private final AtomicLong lastSeq;
  private final AtomicLong subscribers;
  private final BusSignatures.Drops busDrops;
  private final Map<BusSignatures.Reason, AtomicLong> busDropped = new EnumMap<>(BusSignatures.Reason.class);
  private final Supplier<Map<String, Long>> controlPlaneDrops;
  private final Map<String, AtomicLong> controlPlaneDropped = new LinkedHashMap<>();
  private Runnable unsubscribe;

  private static final String BUS_DROPS = "mpqemu_bus_messages_dropped_total";
  private static final String BUS_DROPS_HELP = "Event bus messages (heartbeats, events) the control plane dropped, by"
      + " reason: unsigned, old_agent, untrusted_certificate, wrong_node, unknown_node, bad_signature, stale (outside the"
      + " replay window), replayed, replay_cache_full, check_failed; signed by their node, but other_nodes_vm (an event"
      + " about a VM not placed on that node), unknown_vm (about a VM the store does not know), bad_endpoint (a cluster"
      + " heartbeat announcing an endpoint other than tcp at a host its certificate names).";

  /**
   * The {@code reason}s of drops the control plane decides itself, once a message's signature was found
   * good; shown from the start, at 0 until a drop.
   */
  public static final List<String> CONTROL_PLANE_DROP_REASONS = List.of("other_nodes_vm", "unknown_vm", "bad_endpoint");

  /**
   * {@code busDrops}: the event bus messages the control plane dropped, counted where it drops them;
   * {@code controlPlaneDrops}: those it dropped for what they say (by reason, read on its context).
   */
  public ControlPlaneMetrics(ServiceRegistry registry, Context controlPlane, VmRecords vms, NodeRegistry nodes,
      EventLog log, StoreExecutor store, BusSignatures.Drops busDrops, Supplier<Map<String, Long>> controlPlaneDrops, Clock clock) {
    this.controlPlane = controlPlane;
    this.vms = vms;
    this.nodes = nodes;
    this.log = log;
    this.registry = registry;
    this.meters = new ServiceMeters(registry.meters());
    this.vmsByPhase = PhaseSeries.gauge(meters, "VMs by the phase last recorded.");
    this.nodesByState = new EnumGauge<>(meters, "mpqemu_nodes", "Nodes by state.", "state", NodeState.class,
        ControlPlaneMetrics::stateLabel, Arrays.stream(NodeState.values()).filter(s -> stateLabel(s) != null).toList());
    this.heartbeats = meters.total("mpqemu_node_heartbeats_total", "Node heartbeats received since the control plane started.");
    this.launches = new LaunchTracker(meters, clock);
    this.store = store;
    this.groupCommits = meters.total("mpqemu_store_group_commits_total",
        "Transactions the store's writer ran, each taking every write queued at its start (one sync to disk each).");
    this.groupedChanges = meters.total("mpqemu_store_grouped_writes_total",
        "Writes those transactions carried; divided by mpqemu_store_group_commits_total, the mean group.");
    this.events = meters.counter("mpqemu_events_total", "Events recorded in the event log since the control plane started.");
    this.lastSeq = meters.gauge("mpqemu_event_log_last_seq",
        "The seq of the last recorded event: the number of events in the log.");
    this.subscribers = meters.gauge("mpqemu_event_subscribers",
        "Event log subscribers (WatchEvents streams and /v1/events connections).");
    this.busDrops = busDrops;
    // every reason from 0, so that a rate over the first drop of a kind shows it
    for (BusSignatures.Reason r : BusSignatures.Reason.values()) {
      busDropped.put(r, meters.total(BUS_DROPS, BUS_DROPS_HELP, "reason", r.label()));
    }
    this.controlPlaneDrops = controlPlaneDrops;
    CONTROL_PLANE_DROP_REASONS.forEach(this::controlPlaneDropTotal);
  }

  private AtomicLong controlPlaneDropTotal(String reason) {
    return controlPlaneDropped.computeIfAbsent(reason, r -> meters.total(BUS_DROPS, BUS_DROPS_HELP, "reason", r));
  }

  /** {@code ready}, {@code not_ready}, {@code lost}...; null for the unspecified and unrecognized states, never shown. */
  private static String stateLabel(NodeState s) {
    return s == NodeState.UNRECOGNIZED || s == NodeState.NODE_STATE_UNSPECIFIED ? null
        : s.name().substring("NODE_STATE_".length()).toLowerCase(Locale.ROOT);
  }

  /** Subscribes to the event log from its end. Call on the control plane's context. */
  public void start() {
    unsubscribe = log.subscribe(log.lastSeq(), "", new Collector());
  }

  /** Unsubscribes and removes the control plane's meters from the registry. Call on the control plane's context. */
  public void stop() {
    if (unsubscribe != null) {
      unsubscribe.run();
      unsubscribe = null;
    }
    meters.removeAll();
  }

  /** Brings the gauges up to date on the control plane's context, then renders the registry on the caller's. */
  public Future<String> scrape() {
    return OnContext.call(controlPlane, () -> {
      vmsByPhase.set(vms.countByPhase());
      Map<NodeState, Integer> states = new EnumMap<>(NodeState.class);
      for (StoredNode n : nodes.all()) {
        states.merge(n.state(), 1, Integer::sum);
      }
      nodesByState.set(states);
      ServiceMeters.copyTotal(heartbeats, nodes.heartbeatsReceived());
      ServiceMeters.copyTotal(groupCommits, store.groupCommits());
      ServiceMeters.copyTotal(groupedChanges, store.groupedChanges());
      busDropped.forEach((r, total) -> ServiceMeters.copyTotal(total, busDrops.get(r)));
      controlPlaneDrops.get().forEach((reason, count) -> ServiceMeters.copyTotal(controlPlaneDropTotal(reason), count));
      lastSeq.set(log.lastSeq());
      // this collector's own subscription is not counted
      subscribers.set(log.subscriberCount() - (unsubscribe != null ? 1 : 0));
      return Future.succeededFuture();
    }).map(v -> registry.scrape());
  }

  /** Takes every event at once: it only counts. */
  private final class Collector implements EventSink {
    @Override
    public boolean writable() {
      return true;
    }

    @Override
    public void write(VmEvent event) {
      events.increment();
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
    public void outOfRange(long firstKept) {
      LOG.warn("the metrics collector lost its place in the event log (it now starts at seq {}); launch metrics stop",
          firstKept);
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
