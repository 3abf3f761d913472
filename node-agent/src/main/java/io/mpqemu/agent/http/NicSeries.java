package io.mpqemu.agent.http;

import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import io.mpqemu.agent.net.BridgeSampler;
import io.mpqemu.agent.net.TapCounters;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.ToLongFunction;

/**
 * Four counters per NIC on a bridge, from its tap, as the guest sees them: {@value #RECEIVED_BYTES},
 * {@value #RECEIVED_PACKETS}, {@value #TRANSMITTED_BYTES}, {@value #TRANSMITTED_PACKETS}, labelled {@code vm},
 * {@code nic} and {@code network}. A NIC on a user-mode network has none (QEMU 7.2 counts nothing for a
 * netdev). A tap starts at zero with each launch, so a restarted VM's counters start again, as a Prometheus
 * counter may. Brought in line with the last sample at each scrape, on the agent's context.
 */
final class NicSeries {

  static final String RECEIVED_BYTES = "mpqemu_nic_receive_bytes_total";
  static final String RECEIVED_PACKETS = "mpqemu_nic_receive_packets_total";
  static final String TRANSMITTED_BYTES = "mpqemu_nic_transmit_bytes_total";
  static final String TRANSMITTED_PACKETS = "mpqemu_nic_transmit_packets_total";
  private static final String LABELS = " Labels: vm (VM id), nic (NIC id), network. Bridge networks only (from the"
      + " NIC's tap).";

  private final MeterRegistry registry;
  private final LiveSeries<Labels, TapCounters.Counters> series;

  NicSeries(MeterRegistry registry) {
    this.registry = registry;
    this.series = new LiveSeries<>(registry, new TapCounters.Counters(0, 0, 0, 0), this::register);
  }

  private record Labels(String vm, String nic, String network) {

    Tags tags() {
      return Tags.of("vm", vm, "nic", nic, "network", network);
    }
  }

  /** Series for exactly these NICs. */
  void update(List<BridgeSampler.TapSample> taps) {
    Map<Labels, TapCounters.Counters> now = new LinkedHashMap<>();
    for (BridgeSampler.TapSample t : taps) {
      now.put(new Labels(t.vmId(), t.nicId(), t.network()), t.counters());
    }
    series.update(now);
  }

  void removeAll() {
    series.removeAll();
  }

  private List<Meter> register(Labels labels, AtomicReference<TapCounters.Counters> counters) {
    return List.of(
        counter(RECEIVED_BYTES, "Bytes a VM's NIC received (sent into its tap by the host).", labels, counters,
            TapCounters.Counters::receivedBytes),
        counter(RECEIVED_PACKETS, "Packets a VM's NIC received.", labels, counters, TapCounters.Counters::receivedPackets),
        counter(TRANSMITTED_BYTES, "Bytes a VM's NIC sent (read from its tap by the host).", labels, counters,
            TapCounters.Counters::transmittedBytes),
        counter(TRANSMITTED_PACKETS, "Packets a VM's NIC sent.", labels, counters,
            TapCounters.Counters::transmittedPackets));
  }

  private FunctionCounter counter(String name, String help, Labels labels,
      AtomicReference<TapCounters.Counters> counters, ToLongFunction<TapCounters.Counters> figure) {
    return FunctionCounter.builder(name, counters, ref -> figure.applyAsLong(ref.get())).tags(labels.tags())
        .description(help + LABELS).register(registry);
  }
}
