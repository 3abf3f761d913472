package io.mpqemu.metrics;

import static org.assertj.core.api.Assertions.assertThat;

import io.mpqemu.v1.Phase;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

class ServiceMetersTest {

  private final ServiceRegistry registry = new ServiceRegistry();
  private final ServiceMeters meters = new ServiceMeters(registry.meters());

  @AfterEach
  void close() {
    registry.close();
  }

  @Test
  @DisplayName("mpqemu_vms has a series per phase from the start, 0 when empty; unspecified only once counted")
  void phases() {
    EnumGauge<Phase> vms = PhaseSeries.gauge(meters, "VMs.");
    assertThat(registry.scrape()).contains("mpqemu_vms{phase=\"running\"} 0.0\n", "mpqemu_vms{phase=\"pending\"} 0.0\n")
        .doesNotContain("unspecified", "unrecognized");

    vms.set(Map.of(Phase.PHASE_RUNNING, 2, Phase.PHASE_UNSPECIFIED, 1));
    vms.set(Map.of(Phase.PHASE_STOPPED, 1));

    assertThat(registry.scrape()).contains("mpqemu_vms{phase=\"running\"} 0.0\n", "mpqemu_vms{phase=\"stopped\"} 1.0\n",
        "mpqemu_vms{phase=\"unspecified\"} 0.0\n");
  }

  @Test
  @DisplayName("a total copied from a count kept elsewhere renders as a counter that never goes down")
  void copiedTotal() {
    AtomicLong heartbeats = meters.total("mpqemu_node_heartbeats_total", "Heartbeats.");
    ServiceMeters.copyTotal(heartbeats, 5);
    ServiceMeters.copyTotal(heartbeats, 3);

    assertThat(registry.scrape()).contains("# TYPE mpqemu_node_heartbeats_total counter\n",
        "mpqemu_node_heartbeats_total 5.0\n");
  }

  @Test
  @DisplayName("a stopped service's meters leave the registry, so the service started again counts from 0")
  void removeAll() {
    meters.counter("mpqemu_events_total", "Events.").increment(3);
    meters.removeAll();
    assertThat(registry.scrape()).doesNotContain("mpqemu_events_total");

    new ServiceMeters(registry.meters()).counter("mpqemu_events_total", "Events.");
    assertThat(registry.scrape()).contains("mpqemu_events_total 0.0\n");
  }
}
