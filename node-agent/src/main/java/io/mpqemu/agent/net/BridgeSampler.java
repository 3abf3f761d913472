package io.mpqemu.agent.net;

import io.mpqemu.errors.Failures;
import io.mpqemu.spec.NicRules;
import io.mpqemu.v1.AgentVm;
import io.mpqemu.v1.Nic;
import io.mpqemu.v1.ProcessState;
import io.vertx.core.Context;
import io.vertx.core.Future;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What the node sees of its guests on bridges, read on a worker every {@link #INTERVAL}: the neighbour table
 * (the guests' addresses) and each tap's counters. It runs only on a node that defines a bridge network:
 * user-mode NICs have neither (QEMU 7.2 exposes no netdev counters, and every user-mode guest is 10.0.2.15).
 * The API and /metrics read the last sample on the event loop; an address a NIC shows for the first time while
 * its VM runs is told to an {@link AddressListener} (the VM's NIC_ADDRESS_LEARNT event). Started and sampled on
 * the agent's context.
 */
public final class BridgeSampler {

  private static final Logger LOG = LoggerFactory.getLogger(BridgeSampler.class);

  public static final Duration INTERVAL = Duration.ofSeconds(2);

  private final Context agent;
  private final Supplier<List<AgentVm>> vms;
  private final NodeNetworks networks;
  private final NeighbourTable neighbours;
  private final TapCounters counters;
  private final AddressListener learnt;
  /** The addresses announced so far, by VM and NIC, while the VM runs: each is announced once per run. */
  private final Map<String, Set<String>> announced = new HashMap<>();
  private volatile List<TapSample> latest = List.of();
  private boolean sampling;
  private long timer = -1;

  /** Told on the agent's context of each address a NIC on a bridge shows for the first time in a run. */
  @FunctionalInterface
  public interface AddressListener {
    void learnt(String vmId, String nicId, String mac, String address);
  }

  public BridgeSampler(Context agent, Supplier<List<AgentVm>> vms, NodeNetworks networks, AddressListener learnt) {
    this(agent, vms, networks, learnt, new NeighbourTable(), new TapCounters());
  }

  BridgeSampler(Context agent, Supplier<List<AgentVm>> vms, NodeNetworks networks, AddressListener learnt,
      NeighbourTable neighbours, TapCounters counters) {
    this.agent = agent;
    this.vms = vms;
    this.networks = networks;
    this.learnt = learnt;
    this.neighbours = neighbours;
    this.counters = counters;
  }

  /** A NIC on a bridge, with what its tap had carried at the last sample. */
  public record TapSample(String vmId, String nicId, String network, TapCounters.Counters counters) {}

  private record TapNic(String vmId, String nicId, String network, String tap, String mac) {}

  /** Samples now and then every {@link #INTERVAL}; nothing on a node without a bridge network. */
  public void start() {
    if (networks.anyBridge()) {
      timer = agent.owner().setPeriodic(0, INTERVAL.toMillis(), id -> agent.runOnContext(v -> sample()));
    }
  }

  public void stop() {
    if (timer >= 0) {
      agent.owner().cancelTimer(timer);
      timer = -1;
    }
  }

  public NeighbourTable neighbours() {
    return neighbours;
  }

  /** The last sample's taps of the VMs in {@code current} that still run a process (a tap lives with them). */
  public List<TapSample> taps(List<AgentVm> current) {
    Set<String> running = new HashSet<>();
    for (AgentVm vm : current) {
      if (runs(vm)) {
        running.add(vm.getVmId());
      }
    }
    return latest.stream().filter(t -> running.contains(t.vmId())).toList();
  }

  /** Reads the neighbour table and the taps on a worker; a sample still reading makes this one a no-op. */
  Future<Void> sample() {
    if (sampling) {
      return Future.succeededFuture();
    }
    List<TapNic> taps = bridgeNics(vms.get());
    sampling = true;
    return agent.executeBlocking(() -> {
      neighbours.refresh();
      return read(taps);
    }, false)
        .onComplete(ar -> sampling = false)
        .onSuccess(read -> {
          latest = read;
          announce(taps);
        })
        .onFailure(e -> LOG.warn("cannot read the neighbour table or the taps' counters: {}", Failures.describe(e)))
        .mapEmpty();
  }

  private List<TapNic> bridgeNics(List<AgentVm> all) {
    List<TapNic> taps = new ArrayList<>();
    for (AgentVm vm : all) {
      if (!runs(vm)) {
        continue;
      }
      for (Nic nic : vm.getSpec().getNicsList()) {
        String network = NicRules.networkOf(nic);
        if (networks.get(network).filter(n -> n.kind() == Network.Kind.BRIDGE).isPresent()) {
          taps.add(new TapNic(vm.getVmId(), nic.getId(), network, NicPreparer.tapName(vm.getVmId(), nic.getId()),
              NicRules.macOf(vm.getVmId(), nic)));
        }
      }
    }
    return taps;
  }

  /** Tells of every address of these NICs not told before in this run; forgets the NICs no longer running. */
  private void announce(List<TapNic> taps) {
    Set<String> running = new HashSet<>();
    for (TapNic t : taps) {
      String key = t.vmId() + "/" + t.nicId();
      running.add(key);
      Set<String> told = announced.computeIfAbsent(key, k -> new HashSet<>());
      for (String address : neighbours.addressesOf(t.mac())) {
        if (told.add(address)) {
          learnt.learnt(t.vmId(), t.nicId(), t.mac(), address);
        }
      }
    }
    announced.keySet().retainAll(running);
  }

  private List<TapSample> read(List<TapNic> taps) throws IOException {
    List<TapSample> read = new ArrayList<>();
    for (TapNic t : taps) {
      counters.read(t.tap()).ifPresent(c -> read.add(new TapSample(t.vmId(), t.nicId(), t.network(), c)));
    }
    return List.copyOf(read);
  }

  private static boolean runs(AgentVm vm) {
    return vm.getProcessesList().stream().anyMatch(p -> p.getState() == ProcessState.PROCESS_STATE_RUNNING);
  }
}
