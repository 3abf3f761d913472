package io.mpqemu.metrics;

import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.config.MeterFilter;
import io.micrometer.core.instrument.binder.MeterBinder;
import io.micrometer.core.instrument.binder.jvm.ClassLoaderMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmGcMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmInfoMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.core.instrument.binder.system.FileDescriptorMetrics;
import io.micrometer.core.instrument.binder.system.ProcessorMetrics;
import io.micrometer.core.instrument.binder.system.UptimeMetrics;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.util.List;

/**
 * The one registry a service renders at /metrics: its own {@code mpqemu_*} meters, the JVM's and the
 * process's (memory, GC, threads, classes, CPU, open file descriptors, uptime), and Vert.x's own when
 * the service's Vertx reports into it ({@link VertxMetrics}). Two services in one JVM each have one,
 * so their {@code mpqemu_*} series never meet.
 */
public final class ServiceRegistry implements AutoCloseable {

  /**
   * The Prometheus text format 0.0.4, what every Prometheus scrapes; equal to the client library's
   * {@code PrometheusTextFormatWriter.CONTENT_TYPE} (a runtime-only dependency, hence the copy).
   */
  public static final String CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

  private final PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
  private final JvmGcMetrics gc = new JvmGcMetrics();

  /**
   * A registry with the JVM and process metrics bound, every name one that {@code promtool check
   * metrics} accepts without a lint complaint: Micrometer's {@code process_cpu_time_ns_total} becomes
   * {@code process_cpu_seconds_total} and its {@code system_cpu_count} gauge {@code system_cpus}.
   */
  public ServiceRegistry() {
    registry.config()
        .meterFilter(VertxMetrics.NO_CLIENT_POOLS)
        .meterFilter(MeterFilter.deny(id -> id.getName().equals(ProcessCpuSeconds.REPLACED)))
        .meterFilter(new MeterFilter() {
          @Override
          public Meter.Id map(Meter.Id id) {
            return id.getName().equals("system.cpu.count") ? id.withName("system.cpus") : id;
          }
        });
    List<MeterBinder> binders = List.of(new ClassLoaderMetrics(), new JvmMemoryMetrics(), gc, new JvmThreadMetrics(),
        new JvmInfoMetrics(), new ProcessorMetrics(), new ProcessCpuSeconds(), new FileDescriptorMetrics(),
        new UptimeMetrics());
    binders.forEach(b -> b.bindTo(registry));
  }

  /** Where the service's meters go. */
  public MeterRegistry meters() {
    return registry;
  }

  /** Every meter in the text format of {@link #CONTENT_TYPE}; reads only memory and MXBeans, so any thread may call it. */
  public String scrape() {
    return registry.scrape(CONTENT_TYPE);
  }

  /** Stops listening to the JVM's GC notifications and closes the registry. */
  @Override
  public void close() {
    gc.close();
    registry.close();
  }
}
