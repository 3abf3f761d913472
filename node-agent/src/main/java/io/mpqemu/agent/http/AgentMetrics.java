package io.mpqemu.agent.http;

import io.mpqemu.agent.events.EventHub;
import io.mpqemu.agent.vm.VmManager;
import io.mpqemu.http.OnContext;
import io.mpqemu.metrics.Counter;
import io.mpqemu.metrics.Gauge;
import io.mpqemu.metrics.LaunchTracker;
import io.mpqemu.metrics.MetricsRegistry;
import io.mpqemu.metrics.PhaseSeries;
import io.mpqemu.v1.AgentVm;
import io.mpqemu.v1.Phase;
import io.mpqemu.v1.VmEvent;
import io.vertx.core.Context;
import io.vertx.core.Future;
import java.time.Clock;
import java.util.EnumMap;
import java.util.Map;
import java.util.function.LongSupplier;

/**
 * The agent's metrics: VMs by phase and memory from the VM manager at each scrape; launches,
 * failures, latency and event counts from the agent's own event stream, watched live.
 */
public final class AgentMetrics {

  private final Context agent;
  private final VmManager vms;
  private final EventHub events;
  private final LongSupplier heartbeatsSent;
  private final MetricsRegistry registry = new MetricsRegistry();
  private final Gauge vmsByPhase = registry.gauge("mpqemu_vms", "VMs this agent knows, by phase.", "phase");
  private final Gauge memory = registry.gauge("mpqemu_memory_allocated_mib", "Guest memory of this agent's VMs, MiB.");
  private final LaunchTracker launches;
  private final Counter eventCount = registry.counter("mpqemu_events_total",
      "Lifecycle events this agent published since it started.");
  private final Gauge subscribers = registry.gauge("mpqemu_event_subscribers", "WatchEvents streams open on this agent.");
  private final Counter heartbeats = registry.counter("mpqemu_node_heartbeats_total",
      "Node heartbeats this agent published since it started.");
  private Runnable unwatch = () -> { };
  private boolean watching;

  public AgentMetrics(Context agent, VmManager vms, EventHub events, LongSupplier heartbeatsSent, Clock clock) {
    this.agent = agent;
    this.vms = vms;
    this.events = events;
    this.heartbeatsSent = heartbeatsSent;
    this.launches = new LaunchTracker(registry, clock);
  }

  /** Starts watching events from now on. Call on the agent's context. */
  public void start() {
    unwatch = events.watch(false, this::onEvent);
    watching = true;
  }

  /** Stops watching. Call on the agent's context. */
  public void stop() {
    unwatch.run();
    watching = false;
  }

  void onEvent(VmEvent e) {
    eventCount.inc();
    launches.accept(e);
  }

  /** Brings the gauges up to date on the agent's context and renders every metric. */
  public Future<String> scrape() {
    return OnContext.call(agent, () -> {
      Map<Phase, Integer> counts = new EnumMap<>(Phase.class);
      for (AgentVm vm : vms.list()) {
        counts.merge(vm.getPhase(), 1, Integer::sum);
      }
      PhaseSeries.set(vmsByPhase, counts);
      memory.set(vms.allocatedMemoryMib());
      // the watcher that feeds these metrics is not a subscriber
      subscribers.set(events.watcherCount() - (watching ? 1 : 0));
      heartbeats.labels().setTotal(heartbeatsSent.getAsLong());
      return Future.succeededFuture(registry.render());
    });
  }
}
