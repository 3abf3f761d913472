package io.mpqemu.agent.http;

import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import io.mpqemu.agent.stats.ProcessFigures;
import io.mpqemu.agent.stats.ProcessSampler;
import io.mpqemu.v1.ProcessRole;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.ToDoubleFunction;

/**
 * One series per running QEMU process in each of {@value #CPU}, {@value #RSS} and {@value #CGROUP},
 * labelled {@code vm} (the VM id), {@code device} (the device id; "" for the main QEMU) and
 * {@code role} ({@code main} or {@code device}). Brought in line with the sampler at each scrape: a
 * process that is gone loses its series there, so the registry holds the processes that run now and
 * no more. Updated on the agent's context; the scrape reads the values on any thread.
 */
final class ProcessSeries {

  static final String CPU = "mpqemu_process_cpu_seconds_total";
  static final String RSS = "mpqemu_process_resident_memory_bytes";
  static final String CGROUP = "mpqemu_process_cgroup_memory_bytes";
  private static final String LABELS = " Labels: vm (VM id), device (device id, \"\" for the main QEMU), role (main or device).";

  private final MeterRegistry registry;
  private final LiveSeries<Labels, ProcessFigures> series;

  ProcessSeries(MeterRegistry registry) {
    this.registry = registry;
    this.series = new LiveSeries<>(registry, new ProcessFigures(0, 0, 0), this::register);
  }

  private record Labels(String vm, String device, String role) {

    static Labels of(ProcessSampler.Sample s) {
      boolean main = s.process().getRole() == ProcessRole.PROCESS_ROLE_MAIN;
      return new Labels(s.vmId(), main ? "" : s.process().getName(), main ? "main" : "device");
    }

    Tags tags() {
      return Tags.of("vm", vm, "device", device, "role", role);
    }
  }

  /** Series for exactly these processes: new ones registered, gone ones removed, the rest updated. */
  void update(List<ProcessSampler.Sample> running) {
    Map<Labels, ProcessFigures> now = new LinkedHashMap<>();
    for (ProcessSampler.Sample s : running) {
      now.put(Labels.of(s), s.figures());
    }
    series.update(now);
  }

  void removeAll() {
    series.removeAll();
  }

  private List<Meter> register(Labels labels, AtomicReference<ProcessFigures> figures) {
    return List.of(
        FunctionCounter.builder(CPU, figures, value(ProcessFigures::cpuSeconds)).tags(labels.tags())
            .description("CPU time (user + system) a QEMU process of a VM used, in seconds." + LABELS)
            .register(registry),
        gauge(RSS, "Resident set size (VmRSS) of a QEMU process of a VM, guest RAM it touched included.", labels, figures,
            value(f -> f.rssBytes())),
        gauge(CGROUP, "Memory charged to the cgroup of a QEMU process of a VM; 0 where the host offers no memory"
            + " controller.", labels, figures, value(f -> f.cgroupMemoryBytes())));
  }

  private Gauge gauge(String name, String help, Labels labels, AtomicReference<ProcessFigures> figures,
      ToDoubleFunction<AtomicReference<ProcessFigures>> f) {
    return Gauge.builder(name, figures, f).tags(labels.tags()).description(help + LABELS).strongReference(true)
        .register(registry);
  }

  private static ToDoubleFunction<AtomicReference<ProcessFigures>> value(ToDoubleFunction<ProcessFigures> figure) {
    return ref -> figure.applyAsDouble(ref.get());
  }
}
