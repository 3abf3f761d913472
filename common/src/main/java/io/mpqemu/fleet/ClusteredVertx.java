package io.mpqemu.fleet;

import io.mpqemu.metrics.ServiceRegistry;
import io.mpqemu.metrics.VertxMetrics;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.VertxBuilder;
import io.vertx.core.VertxOptions;
import io.vertx.core.eventbus.EventBusOptions;
import java.util.function.Function;
import org.infinispan.manager.DefaultCacheManager;
import org.jgroups.JChannel;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A Vert.x joined to the fleet: membership by JGroups over TCP under mutual TLS (only certificates of
 * the cluster CA with the {@code control-plane} or {@code node-agent} role join), to an explicit member
 * list on one address (no multicast, no UDP, no diagnostics), Vert.x's maps in Infinispan over it, Java
 * deserialization limited to an allow-list, and the event bus on this host's cluster address under
 * mutual TLS. See {@link Membership}.
 */
public final class ClusteredVertx {

  private static final Logger LOG = LoggerFactory.getLogger("io.mpqemu.fleet.Membership");

  private ClusteredVertx() {}

  /**
   * A service's Vert.x, in a fleet its TLS identity (null when it runs alone), and the registry its
   * /metrics renders, into which this Vert.x reports its own metrics too.
   */
  public record Started(Vertx vertx, ClusterTls tls, ServiceRegistry metrics) {}

  /** Why a service could not start: the message for stderr and the exit code (2: fix the config, 1: the join failed). */
  public static final class StartException extends Exception {
    private static final long serialVersionUID = 1L;
    private final int exitCode;

    StartException(int exitCode, String message) {
      super(message);
      this.exitCode = exitCode;
    }

    public int exitCode() {
      return exitCode;
    }
  }

  /**
   * For {@code serve}: a plain Vert.x when {@code clusterFile} is null, otherwise one joined to the
   * fleet the file describes, after checking that this host's certificate has the {@code role} it
   * runs as ({@code howToMake} tells the operator how to make the right one). Either way the Vert.x
   * reports its own metrics into the service's new registry. Blocks.
   */
  public static Started startService(java.nio.file.Path clusterFile, Role role, String howToMake, VertxOptions options)
      throws StartException {
    return startService(clusterFile, role, null, howToMake, options);
  }

  /** As above; a non-null {@code name} must be the certificate's CN (an agent's node id). */
  public static Started startService(java.nio.file.Path clusterFile, Role role, String name, String howToMake,
      VertxOptions options) throws StartException {
    if (clusterFile == null) {
      ServiceRegistry metrics = new ServiceRegistry();
      return new Started(VertxMetrics.builder(options, metrics, role.toString()).build(), null, metrics);
    }
    ClusterConfig fleet;
    ClusterTls tls;
    try {
      fleet = ClusterConfig.read(clusterFile);
      tls = fleet.tls();
    } catch (IllegalArgumentException | java.io.IOException e) {
      throw new StartException(2, e.getMessage());
    }
    if (tls.role() != role) {
      throw new StartException(2, "certificate " + fleet.certFile() + " names role " + tls.role() + "; this service needs a "
          + role + " certificate (" + howToMake + ")");
    }
    if (name != null && !name.equals(tls.commonName())) {
      throw new StartException(2, "certificate " + fleet.certFile() + " is for '" + tls.commonName() + "', not for node "
          + name + ": the control plane calls a node only if its certificate's CN is the node id (" + howToMake + ")");
    }
    try {
      return JoinAttempts.run(() -> {
        ServiceRegistry metrics = new ServiceRegistry();
        try {
          return new Started(start(fleet, tls, options, o -> VertxMetrics.builder(o, metrics, role.toString())).await(),
              tls, metrics);
        } catch (Exception e) {
          metrics.close();
          throw e;
        }
      }, JoinAttempts.WAITS, why -> LOG.warn("joining cluster '{}' at {}: {}", fleet.name(), fleet.host(), why),
          d -> Thread.sleep(d.toMillis()));
    } catch (Exception e) {
      throw new StartException(1, "cannot join cluster '" + fleet.name() + "' at " + fleet.host() + ": " + e.getMessage());
    }
  }

  /** Starts a clustered Vert.x; fails when the bus cannot bind or the membership cannot start. */
  public static Future<Vertx> start(ClusterConfig cluster, ClusterTls tls, VertxOptions options) {
    return start(cluster, tls, options, Vertx.builder()::with);
  }

  private static Future<Vertx> start(ClusterConfig cluster, ClusterTls tls, VertxOptions options,
      Function<VertxOptions, VertxBuilder> builder) {
    EventBusOptions bus = tls.eventBus(new EventBusOptions())
        .setHost(cluster.host()).setPort(cluster.busPort()).setClusterPublicHost(cluster.host())
        .setClusterPublicPort(cluster.busPort());
    options.setEventBusOptions(bus);
    FleetClusterManager manager;
    try {
      manager = clusterManager(cluster, tls);
    } catch (Exception e) {
      return Future.failedFuture(e);
    }
    return builder.apply(options).withClusterManager(manager).buildClustered();
  }

  /** The cluster manager: Infinispan over the TLS JGroups stack, not yet started (Vert.x starts it when it joins). */
  static FleetClusterManager clusterManager(ClusterConfig cluster, ClusterTls tls) throws Exception {
    SerialFilter.install();
    JChannel channel = Membership.channel(cluster, Membership.sslContext(tls));
    return new FleetClusterManager(new DefaultCacheManager(Membership.infinispan(cluster, channel), false), cluster.name());
  }
}
