package io.mpqemu.metrics;

import static org.assertj.core.api.Assertions.assertThat;

import io.prometheus.metrics.expositionformats.PrometheusTextFormatWriter;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

class ServiceRegistryTest {

  private final ServiceRegistry registry = new ServiceRegistry();
  private final ServiceRegistry other = new ServiceRegistry();

  @AfterEach
  void close() {
    registry.close();
    other.close();
  }

  @Test
  @DisplayName("/metrics is served as the Prometheus text format 0.0.4 that the client library writes")
  void contentType() {
    assertThat(ServiceRegistry.CONTENT_TYPE).isEqualTo(PrometheusTextFormatWriter.CONTENT_TYPE);
    assertThat(registry.scrape()).startsWith("# HELP ").doesNotContain("# EOF");
  }

  @Test
  @DisplayName("a new registry has the JVM's and the process's metrics, CPU time in seconds")
  void jvmAndProcess() {
    assertThat(registry.scrape()).contains("\n# TYPE jvm_memory_used_bytes gauge\n", "\n# TYPE jvm_threads_live_threads gauge\n",
        "\n# TYPE jvm_classes_loaded_classes gauge\n", "\n# TYPE process_files_open_files gauge\n",
        "\n# TYPE process_cpu_seconds_total counter\n", "\n# TYPE process_uptime_seconds gauge\n",
        "\n# TYPE system_cpus gauge\n").doesNotContain("process_cpu_time_ns", "system_cpu_count");
  }

  @Test
  @DisplayName("two services' registries in one JVM each render only their own mpqemu_* series")
  void apart() {
    new ServiceMeters(registry.meters()).gauge("mpqemu_vms", "VMs this agent knows.", "phase", "running").set(2);
    new ServiceMeters(other.meters()).gauge("mpqemu_vms", "VMs by the phase last recorded.", "phase", "running").set(5);

    assertThat(registry.scrape()).contains("# HELP mpqemu_vms VMs this agent knows.\n", "mpqemu_vms{phase=\"running\"} 2.0\n")
        .doesNotContain("mpqemu_vms{phase=\"running\"} 5.0");
    assertThat(other.scrape()).contains("# HELP mpqemu_vms VMs by the phase last recorded.\n",
        "mpqemu_vms{phase=\"running\"} 5.0\n");
  }
}
