package io.mpqemu.metrics;

import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.binder.MeterBinder;
import java.lang.management.ManagementFactory;
import java.lang.management.OperatingSystemMXBean;

/**
 * {@code process_cpu_seconds_total}, the CPU time the process used, under the name Prometheus's own
 * client libraries give it. It stands in for Micrometer's {@code process.cpu.time}, which counts
 * nanoseconds and renders as {@code process_cpu_time_ns_total}, a name promtool rejects.
 */
final class ProcessCpuSeconds implements MeterBinder {

  /** The name Micrometer's ProcessorMetrics gives the meter this one replaces. */
  static final String REPLACED = "process.cpu.time";

  @Override
  public void bindTo(MeterRegistry registry) {
    OperatingSystemMXBean os = ManagementFactory.getOperatingSystemMXBean();
    if (os instanceof com.sun.management.OperatingSystemMXBean hotspot && hotspot.getProcessCpuTime() >= 0) {
      FunctionCounter.builder("process_cpu_seconds_total", hotspot, b -> b.getProcessCpuTime() / 1e9)
          .description("CPU time the process used, in seconds.").register(registry);
    }
  }
}
