package io.mpqemu.fleet;

import java.io.ByteArrayInputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManager;
import org.infinispan.configuration.cache.CacheMode;
import org.infinispan.configuration.global.GlobalConfigurationBuilder;
import org.infinispan.configuration.parsing.ConfigurationBuilderHolder;
import org.infinispan.remoting.transport.jgroups.JGroupsTransport;
import org.jgroups.JChannel;
import org.jgroups.protocols.FD_ALL3;
import org.jgroups.protocols.FRAG4;
import org.jgroups.protocols.MERGE3;
import org.jgroups.protocols.MFC;
import org.jgroups.protocols.TCP;
import org.jgroups.protocols.TCPPING;
import org.jgroups.protocols.UFC;
import org.jgroups.protocols.UNICAST3;
import org.jgroups.protocols.VERIFY_SUSPECT2;
import org.jgroups.protocols.pbcast.GMS;
import org.jgroups.protocols.pbcast.NAKACK2;
import org.jgroups.protocols.pbcast.STABLE;

/**
 * The cluster membership, built in code from the cluster file: a JGroups stack on TCP under mutual
 * TLS (the cluster CA, and only the {@code control-plane} and {@code node-agent} roles, both ways),
 * static discovery of the listed members (TCPPING: no multicast, no UDP, no diagnostics port),
 * failure detection by heartbeats over the same connections (FD_ALL3, no FD_SOCK2 port), and
 * MERGE3 to heal a split; under it, Infinispan holds Vert.x's maps.
 */
final class Membership {

  /** Who may be a member: the services, never a client or a viewer. */
  static final Set<Role> MEMBER_ROLES = EnumSet.of(Role.CONTROL_PLANE, Role.NODE_AGENT);
  /** How long a connecting peer has to complete the TLS handshake. */
  static final int HANDSHAKE_MILLIS = 2000;
  /** The heartbeat period; a suspect is checked once more for as long before it is removed. */
  static final long HEARTBEAT_MILLIS = 1000;
  /** How long one round of a starting member's discovery waits for the cluster's coordinator to answer. */
  static final long JOIN_MILLIS = 2000;

  private Membership() {}

  /** TLS for the membership port: this host's certificate, and peers of the cluster CA with a member role. */
  static SSLContext sslContext(ClusterTls tls) {
    try {
      KeyStore keys = KeyStore.getInstance("PKCS12");
      keys.load(null, null);
      List<Certificate> chain = new ArrayList<>(CertificateFactory.getInstance("X.509")
          .generateCertificates(new ByteArrayInputStream(tls.certificatePem().getBytes(StandardCharsets.US_ASCII))));
      char[] password = "mpqemu-membership".toCharArray(); // an in-memory store only
      keys.setKeyEntry("member", tls.privateKey(), password, chain.toArray(new Certificate[0]));
      KeyManagerFactory kmf = KeyManagerFactory.getInstance("PKIX");
      kmf.init(keys, password);
      SSLContext ctx = SSLContext.getInstance("TLS");
      ctx.init(kmf.getKeyManagers(), new TrustManager[] {tls.signerTrust(MembershipSockets.PURPOSE, MEMBER_ROLES)}, null);
      return ctx;
    } catch (Exception e) {
      throw new IllegalStateException("cannot build the cluster membership TLS: " + e.getMessage(), e);
    }
  }

  /** The JGroups channel (not connected): Infinispan connects it under the cluster name. */
  static JChannel channel(ClusterConfig cluster, SSLContext ssl) throws Exception {
    InetAddress host = InetAddress.getByName(cluster.host());
    TCP tcp = new TCP();
    tcp.setBindAddress(host);
    tcp.setBindPort(cluster.membershipPort());
    tcp.setPortRange(0);
    tcp.setSockConnTimeout(2000);
    tcp.setSocketFactory(new MembershipSockets(ssl, HANDSHAKE_MILLIS));
    List<InetSocketAddress> members = new ArrayList<>();
    for (String m : cluster.members()) {
      int colon = m.lastIndexOf(':');
      String ip = m.substring(0, colon);
      if (ip.startsWith("[")) {
        ip = ip.substring(1, ip.length() - 1);
      }
      members.add(new InetSocketAddress(InetAddress.getByName(ip), Integer.parseInt(m.substring(colon + 1))));
    }
    TCPPING ping = new TCPPING();
    ping.setInitialHosts(members);
    ping.setPortRange(0);
    long timeout = cluster.memberTimeout().toMillis();
    long merge = cluster.mergeDelay().toMillis();
    MERGE3 merge3 = new MERGE3().setMaxInterval(merge).setMinInterval(Math.max(merge / 2, 500));
    // removed after memberTimeout of silence: heartbeats every second, suspected after
    // memberTimeout minus one heartbeat, then VERIFY_SUSPECT2 checks for one more
    FD_ALL3 fd = new FD_ALL3().setInterval(HEARTBEAT_MILLIS).setTimeout(Math.max(timeout - HEARTBEAT_MILLIS, HEARTBEAT_MILLIS));
    VERIFY_SUSPECT2 verify = new VERIFY_SUSPECT2().setTimeout(HEARTBEAT_MILLIS);
    NAKACK2 nakack = new NAKACK2();
    nakack.setXmitInterval(200);
    nakack.useMcastXmit(false);
    UNICAST3 unicast = new UNICAST3();
    unicast.setXmitInterval(200);
    STABLE stable = new STABLE();
    stable.setDesiredAverageGossip(5000);
    stable.setMaxBytes(1024 * 1024);
    // a joiner the cluster answers without a coordinator (its own previous run, not yet found dead) asks
    // again (PatientGms) for twice the member timeout before it founds a cluster of its own
    GMS gms = new PatientGms().setJoinTimeout(JOIN_MILLIS)
        .setMaxJoinAttempts((int) Math.max(10, 2 * timeout / JOIN_MILLIS + 3));
    gms.printLocalAddress(false);
    UFC ufc = new UFC();
    ufc.setMaxCredits(4 * 1024 * 1024);
    MFC mfc = new MFC();
    mfc.setMaxCredits(4 * 1024 * 1024);
    FRAG4 frag = new FRAG4();
    frag.setFragSize(60000);
    JChannel ch = new JChannel(tcp, ping, merge3, fd, verify, nakack, unicast, stable, gms, ufc, mfc, frag);
    ch.getProtocolStack().getTransport().getDiagnosticsHandler().setEnabled(false);
    ch.setDiscardOwnMessages(false);
    ch.name(nodeName(cluster));
    return ch;
  }

  /**
   * This member's name in log lines and Vert.x's node id: its address, and a suffix that tells one run
   * from the next (a restarted member must not share the node id whose subscriptions are being cleaned up).
   */
  static String nodeName(ClusterConfig cluster) {
    String host = cluster.host().contains(":") ? "[" + cluster.host() + "]" : cluster.host();
    return host + ":" + cluster.membershipPort() + "-" + java.util.HexFormat.of()
        .toHexDigits((short) new java.security.SecureRandom().nextInt());
  }

  /** Infinispan over {@code channel}, with the caches vertx-infinispan's default file defines. */
  static ConfigurationBuilderHolder infinispan(ClusterConfig cluster, JChannel channel) {
    ClassLoader loader = Membership.class.getClassLoader();
    ConfigurationBuilderHolder holder = new ConfigurationBuilderHolder(loader);
    GlobalConfigurationBuilder global = holder.getGlobalConfigurationBuilder();
    global.classLoader(loader);
    global.transport().transport(new JGroupsTransport(channel)).clusterName(cluster.name())
        .nodeName(channel.getName());
    global.jmx().disable();
    global.defaultCacheName("distributed-cache");
    holder.newConfigurationBuilder("distributed-cache").clustering().cacheMode(CacheMode.DIST_SYNC);
    // after a split heals, each half's entries (its members' node records and subscriptions) are kept:
    // without a merge policy one half's would be lost, and its members unreachable on the bus
    for (String name : List.of("__vertx.subs", "__vertx.haInfo", "__vertx.nodeInfo")) {
      holder.newConfigurationBuilder(name).clustering().cacheMode(CacheMode.REPL_SYNC).partitionHandling()
          .whenSplit(org.infinispan.partitionhandling.PartitionHandling.ALLOW_READ_WRITES)
          .mergePolicy(org.infinispan.conflict.MergePolicy.PREFERRED_NON_NULL);
    }
    holder.newConfigurationBuilder("__vertx.distributed.cache.configuration").template(true).clustering()
        .cacheMode(CacheMode.DIST_SYNC);
    return holder;
  }
}
