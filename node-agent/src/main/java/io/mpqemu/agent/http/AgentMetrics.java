package io.mpqemu.agent.http;

import io.micrometer.core.instrument.Counter;
import io.mpqemu.agent.events.EventHub;
import io.mpqemu.agent.net.BridgeSampler;
import io.mpqemu.agent.stats.ProcessSampler;
import io.mpqemu.agent.vm.VmManager;
import io.mpqemu.http.OnContext;
import io.mpqemu.metrics.EnumGauge;
import io.mpqemu.metrics.LaunchTracker;
import io.mpqemu.metrics.PhaseSeries;
import io.mpqemu.metrics.ServiceMeters;
import io.mpqemu.metrics.ServiceRegistry;
import io.mpqemu.v1.AgentVm;
import io.mpqemu.v1.Phase;
import io.mpqemu.v1.VmEvent;
import io.vertx.core.Context;
import io.vertx.core.Future;
import java.time.Clock;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;

/**
 * The agent's metrics: VMs by phase and memory from the VM manager at each scrape, and each running
 * QEMU process's figures from the sampler's last sample ({@link ProcessSeries}) and each tap NIC's counters
 * from the bridge sampler's ({@link NicSeries}); launches, failures,
 * latency and event counts from the agent's own event stream, watched live. They go into the agent's
 * registry, which /metrics renders with the JVM's, the process's and Vert.x's.
 */
public final class AgentMetrics {

  private final Context agent;
  private final VmManager vms;
  private final EventHub events;
  private final ProcessSampler sampler;
  private final BridgeSampler bridges;
  private final LongSupplier heartbeatsSent;
  private final ServiceRegistry registry;
  private final ServiceMeters meters;
  private final EnumGauge<Phase> vmsByPhase;
  private final AtomicLong memory;
  private final LaunchTracker launches;
  private final Counter eventCount;
  private final AtomicLong subscribers;
  private final AtomicLong heartbeats;
  private final ProcessSeries processes;
  private final NicSeries nics;
  private Runnable unwatch = () -> { };
  private boolean watching;

  public AgentMetrics(ServiceRegistry registry, Context agent, VmManager vms, EventHub events, ProcessSampler sampler,
      BridgeSampler bridges, LongSupplier heartbeatsSent, Clock clock) {
    this.agent = agent;
    this.vms = vms;
    this.events = events;
    this.sampler = sampler;
    this.bridges = bridges;
    this.heartbeatsSent = heartbeatsSent;
    this.registry = registry;
    this.meters = new ServiceMeters(registry.meters());
    this.vmsByPhase = PhaseSeries.gauge(meters, "VMs this agent knows, by phase.");
    this.memory = meters.gauge("mpqemu_memory_allocated_mib", "Guest memory of this agent's VMs, MiB.");
    this.launches = new LaunchTracker(meters, clock);
    this.eventCount = meters.counter("mpqemu_events_total", "Lifecycle events this agent published since it started.");
    this.subscribers = meters.gauge("mpqemu_event_subscribers", "WatchEvents streams open on this agent.");
    this.heartbeats = meters.total("mpqemu_node_heartbeats_total", "Node heartbeats this agent published since it started.");
    this.processes = new ProcessSeries(registry.meters());
    this.nics = new NicSeries(registry.meters());
  }

  /** Starts watching events from now on. Call on the agent's context. */
  public void start() {
    unwatch = events.watch(false, this::onEvent);
    watching = true;
  }

  /** Stops watching and removes the agent's meters from the registry. Call on the agent's context. */
  public void stop() {
    unwatch.run();
    watching = false;
    meters.removeAll();
    processes.removeAll();
    nics.removeAll();
  }

  void onEvent(VmEvent e) {
    eventCount.increment();
    launches.accept(e);
  }

  /** Brings the gauges up to date on the agent's context, then renders the registry on the caller's. */
  public Future<String> scrape() {
    return OnContext.call(agent, () -> {
      Map<Phase, Integer> counts = new EnumMap<>(Phase.class);
      List<AgentVm> all = vms.list();
      for (AgentVm vm : all) {
        counts.merge(vm.getPhase(), 1, Integer::sum);
      }
      vmsByPhase.set(counts);
      memory.set(vms.allocatedMemoryMib());
      processes.update(sampler.running(all));
      nics.update(bridges.taps(all));
      // the watcher that feeds these metrics is not a subscriber
      subscribers.set(events.watcherCount() - (watching ? 1 : 0));
      ServiceMeters.copyTotal(heartbeats, heartbeatsSent.getAsLong());
      return Future.succeededFuture();
    }).map(v -> registry.scrape());
  }
}
