package io.mpqemu.fleet;

import com.hazelcast.config.Config;
import com.hazelcast.config.JoinConfig;
import com.hazelcast.config.NetworkConfig;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.eventbus.EventBusOptions;
import io.vertx.spi.cluster.hazelcast.ConfigUtil;
import io.vertx.spi.cluster.hazelcast.HazelcastClusterManager;

/**
 * A Vert.x joined to the fleet: Hazelcast membership by TCP/IP to an explicit member list on one
 * interface (no multicast, no auto-detection, no phone-home), and the event bus on this host's
 * cluster address under mutual TLS.
 */
public final class ClusteredVertx {

  private ClusteredVertx() {}

  /** Starts a clustered Vert.x; fails when the bus cannot bind or Hazelcast cannot start. */
  public static Future<Vertx> start(ClusterConfig cluster, ClusterTls tls, VertxOptions options) {
    EventBusOptions bus = tls.eventBus(new EventBusOptions())
        .setHost(cluster.host()).setPort(cluster.busPort()).setClusterPublicHost(cluster.host())
        .setClusterPublicPort(cluster.busPort());
    options.setEventBusOptions(bus);
    return Vertx.builder().with(options).withClusterManager(new HazelcastClusterManager(hazelcast(cluster)))
        .buildClustered();
  }

  /** The Hazelcast member config: Vert.x's own maps, and our network. */
  static Config hazelcast(ClusterConfig cluster) {
    Config hz = ConfigUtil.loadConfig();
    hz.setClusterName(cluster.name());
    hz.setProperty("hazelcast.phone.home.enabled", "false");
    hz.setProperty("hazelcast.logging.type", "slf4j");
    hz.setProperty("hazelcast.socket.bind.any", "false");
    hz.setProperty("hazelcast.heartbeat.interval.seconds", "1");
    hz.setProperty("hazelcast.max.no.heartbeat.seconds", Long.toString(cluster.memberTimeout().toSeconds()));
    hz.setProperty("hazelcast.merge.first.run.delay.seconds", Long.toString(cluster.mergeDelay().toSeconds()));
    hz.setProperty("hazelcast.merge.next.run.delay.seconds", Long.toString(cluster.mergeDelay().toSeconds()));
    hz.setProperty("hazelcast.wait.seconds.before.join", "1");
    hz.setProperty("hazelcast.graceful.shutdown.max.wait", "10");
    NetworkConfig net = hz.getNetworkConfig();
    net.setPort(cluster.hazelcastPort()).setPortAutoIncrement(false);
    net.getInterfaces().setEnabled(true).clear().addInterface(cluster.host());
    JoinConfig join = net.getJoin();
    join.getMulticastConfig().setEnabled(false);
    join.getAutoDetectionConfig().setEnabled(false);
    join.getTcpIpConfig().setEnabled(true).setMembers(cluster.members()).setConnectionTimeoutSeconds(2);
    return hz;
  }
}
