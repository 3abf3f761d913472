package io.mpqemu.agent.http;

import static org.assertj.core.api.Assertions.assertThat;

import io.mpqemu.agent.stats.ProcessFigures;
import io.mpqemu.agent.stats.ProcessSampler;
import io.mpqemu.metrics.ServiceRegistry;
import io.mpqemu.testing.Promtool;
import io.mpqemu.v1.ProcessRole;
import io.mpqemu.v1.ProcessStatus;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/** The per-process series as Prometheus renders them, and their removal. */
class ProcessSeriesTest {

  private final ServiceRegistry registry = new ServiceRegistry();
  private final ProcessSeries series = new ProcessSeries(registry.meters());

  @AfterEach
  void close() {
    registry.close();
  }

  @Test
  @DisplayName("each running process has a series in the three families, labelled vm, device (\"\" for main) and role")
  void rendered() {
    series.update(List.of(sample("vm-a", "main", 2.5, 300 << 20), sample("vm-a", "lsi0", 0.75, 40 << 20)));

    HttpGet page = new HttpGet(200, ServiceRegistry.CONTENT_TYPE, registry.scrape());
    assertThat(page.sample("mpqemu_process_cpu_seconds_total{device=\"\",role=\"main\",vm=\"vm-a\"}")).isEqualTo(2.5);
    assertThat(page.sample("mpqemu_process_cpu_seconds_total{device=\"lsi0\",role=\"device\",vm=\"vm-a\"}")).isEqualTo(0.75);
    assertThat(page.sample("mpqemu_process_resident_memory_bytes{device=\"lsi0\",role=\"device\",vm=\"vm-a\"}"))
        .isEqualTo(40 << 20);
    assertThat(page.sample("mpqemu_process_cgroup_memory_bytes{device=\"\",role=\"main\",vm=\"vm-a\"}")).isZero();
    assertThat(page.body()).contains("# TYPE mpqemu_process_cpu_seconds_total counter\n",
        "# TYPE mpqemu_process_resident_memory_bytes gauge\n", "# TYPE mpqemu_process_cgroup_memory_bytes gauge\n");
  }

  @Test
  @DisplayName("a later sample moves the values; a process no longer running loses its series, and removeAll leaves none")
  void updatedAndRemoved() {
    series.update(List.of(sample("vm-a", "main", 1, 1 << 20), sample("vm-b", "main", 1, 1 << 20)));
    series.update(List.of(sample("vm-b", "main", 3, 2 << 20)));

    HttpGet page = new HttpGet(200, ServiceRegistry.CONTENT_TYPE, registry.scrape());
    assertThat(page.body()).doesNotContain("vm-a");
    assertThat(page.sample("mpqemu_process_cpu_seconds_total{device=\"\",role=\"main\",vm=\"vm-b\"}")).isEqualTo(3);
    assertThat(page.sample("mpqemu_process_resident_memory_bytes{device=\"\",role=\"main\",vm=\"vm-b\"}")).isEqualTo(2 << 20);

    series.removeAll();
    assertThat(registry.scrape()).doesNotContain("mpqemu_process_");
  }

  @Test
  @DisplayName("promtool accepts the three families without a lint problem")
  void promtoolAccepts() throws Exception {
    series.update(List.of(sample("vm-a", "main", 2.5, 300 << 20), sample("vm-a", "lsi0", 0.75, 40 << 20)));

    Promtool.Result result = Promtool.checkMetrics(registry.scrape());

    assertThat(result.problemsOf("mpqemu_")).isEmpty();
    assertThat(result.exitCode()).as("promtool said: " + result.output()).isZero();
  }

  private static ProcessSampler.Sample sample(String vm, String name, double cpu, long rss) {
    ProcessRole role = name.equals("main") ? ProcessRole.PROCESS_ROLE_MAIN : ProcessRole.PROCESS_ROLE_DEVICE;
    return new ProcessSampler.Sample(vm, ProcessStatus.newBuilder().setName(name).setRole(role).build(),
        new ProcessFigures(cpu, rss, 0));
  }
}
