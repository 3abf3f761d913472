package io.mpqemu.metrics;

import io.micrometer.core.instrument.config.MeterFilter;
import io.vertx.core.Vertx;
import io.vertx.core.VertxBuilder;
import io.vertx.core.VertxOptions;
import io.vertx.micrometer.Label;
import io.vertx.micrometer.MicrometerMetricsFactory;
import io.vertx.micrometer.MetricsDomain;
import io.vertx.micrometer.MicrometerMetricsOptions;
import java.util.EnumSet;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Vert.x's own metrics (HTTP and gRPC server requests, HTTP clients, the event bus, worker pools) into
 * a service's registry. Only a Vertx built through {@link #builder} has them: a Vertx built
 * without, as in tests and in embedded mode's second service, serves the rest of its metrics all the same.
 */
public final class VertxMetrics {

  /**
   * Labels whose values form a small set: method, status code, the matched route template (never the
   * raw path, which holds VM ids), the application's bus addresses (Vert.x leaves its reply addresses
   * out), reply failure kinds and worker pool names. No remote addresses.
   */
  static final Set<Label> LABELS = EnumSet.of(Label.HTTP_METHOD, Label.HTTP_CODE, Label.HTTP_ROUTE, Label.EB_ADDRESS,
      Label.EB_SIDE, Label.EB_FAILURE, Label.POOL_TYPE, Label.POOL_NAME);

  /**
   * Leaves out the metrics of HTTP client connection pools: Vert.x names each such pool by its
   * server's address (a node's host and port, or a UNIX socket path), a label this project keeps out.
   * The HTTP client's own metrics stay.
   */
  static final MeterFilter NO_CLIENT_POOLS = MeterFilter.deny(
      id -> id.getName().startsWith(MetricsDomain.NAMED_POOLS.getPrefix()) && "http".equals(id.getTag("pool_type")));

  /** vertx-micrometer-metrics keeps registries in a JVM-wide map by name: each Vertx needs its own name. */
  private static final AtomicLong NAMES = new AtomicLong();

  private VertxMetrics() {}

  /**
   * A builder of a Vertx with {@code options} (whose metrics options this sets) that reports into
   * {@code registry}; {@code service} names it in log lines.
   */
  public static VertxBuilder builder(VertxOptions options, ServiceRegistry registry, String service) {
    options.setMetricsOptions(new MicrometerMetricsOptions().setEnabled(true)
        .setRegistryName("mpqemu-" + service + "-" + NAMES.incrementAndGet()).setLabels(LABELS));
    return Vertx.builder().with(options).withMetrics(new MicrometerMetricsFactory(registry.meters()));
  }
}
