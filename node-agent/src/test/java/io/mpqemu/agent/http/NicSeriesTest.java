package io.mpqemu.agent.http;

import static org.assertj.core.api.Assertions.assertThat;

import io.mpqemu.agent.net.BridgeSampler;
import io.mpqemu.agent.net.TapCounters;
import io.mpqemu.metrics.ServiceRegistry;
import io.mpqemu.testing.Promtool;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/** The per-NIC counters as Prometheus renders them, and their removal. */
class NicSeriesTest {

  private final ServiceRegistry registry = new ServiceRegistry();
  private final NicSeries series = new NicSeries(registry.meters());

  @AfterEach
  void close() {
    registry.close();
  }

  @Test
  @DisplayName("each tap NIC has four counters, labelled vm, nic and network, in the guest's direction")
  void rendered() {
    series.update(List.of(tap("vm-a", "net0", 1000, 10, 200, 2), tap("vm-a", "net1", 5, 1, 7, 1)));

    HttpGet page = new HttpGet(200, ServiceRegistry.CONTENT_TYPE, registry.scrape());
    assertThat(page.sample("mpqemu_nic_receive_bytes_total{network=\"lan\",nic=\"net0\",vm=\"vm-a\"}")).isEqualTo(1000);
    assertThat(page.sample("mpqemu_nic_receive_packets_total{network=\"lan\",nic=\"net0\",vm=\"vm-a\"}")).isEqualTo(10);
    assertThat(page.sample("mpqemu_nic_transmit_bytes_total{network=\"lan\",nic=\"net0\",vm=\"vm-a\"}")).isEqualTo(200);
    assertThat(page.sample("mpqemu_nic_transmit_packets_total{network=\"lan\",nic=\"net1\",vm=\"vm-a\"}")).isEqualTo(1);
    assertThat(page.body()).contains("# TYPE mpqemu_nic_receive_bytes_total counter\n");
  }

  @Test
  @DisplayName("a later sample moves the values; a NIC gone loses its series, and removeAll leaves none")
  void updatedAndRemoved() {
    series.update(List.of(tap("vm-a", "net0", 1, 1, 1, 1), tap("vm-b", "net0", 1, 1, 1, 1)));
    series.update(List.of(tap("vm-b", "net0", 3000, 3, 4000, 4)));

    HttpGet page = new HttpGet(200, ServiceRegistry.CONTENT_TYPE, registry.scrape());
    assertThat(page.body()).doesNotContain("vm-a");
    assertThat(page.sample("mpqemu_nic_transmit_bytes_total{network=\"lan\",nic=\"net0\",vm=\"vm-b\"}")).isEqualTo(4000);

    series.removeAll();
    assertThat(registry.scrape()).doesNotContain("mpqemu_nic_");
  }

  @Test
  @DisplayName("promtool accepts the four families without a lint problem")
  void promtoolAccepts() throws Exception {
    series.update(List.of(tap("vm-a", "net0", 1000, 10, 200, 2)));

    Promtool.Result result = Promtool.checkMetrics(registry.scrape());

    assertThat(result.problemsOf("mpqemu_")).isEmpty();
    assertThat(result.exitCode()).as("promtool said: " + result.output()).isZero();
  }

  private static BridgeSampler.TapSample tap(String vm, String nic, long rxBytes, long rxPackets, long txBytes,
      long txPackets) {
    return new BridgeSampler.TapSample(vm, nic, "lan", new TapCounters.Counters(rxBytes, rxPackets, txBytes, txPackets));
  }
}
