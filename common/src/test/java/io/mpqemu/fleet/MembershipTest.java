package io.mpqemu.fleet;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import io.mpqemu.testing.Await;
import io.mpqemu.testing.ClusterCerts;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManager;
import javax.net.ssl.X509TrustManager;
import org.jgroups.JChannel;
import org.jgroups.protocols.TCP;
import org.jgroups.protocols.TCPPING;
import org.jgroups.protocols.UNICAST3;
import org.jgroups.protocols.pbcast.GMS;
import org.jgroups.protocols.pbcast.NAKACK2;
import org.jgroups.protocols.pbcast.STABLE;
import org.jgroups.util.DefaultSocketFactory;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;

/**
 * Two members on this machine's loopback (a control plane and an agent) joined by the TLS membership,
 * and strangers who know the cluster name: with no certificate, a self-signed one, and a client's of
 * the cluster CA. None gets in, each refusal is logged with its reason, and the members stay together.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class MembershipTest {

  private static final String NAME = "membership-test";

  @TempDir
  static Path dir;

  private final ch.qos.logback.classic.Logger refused =
      (ch.qos.logback.classic.Logger) LoggerFactory.getLogger("io.mpqemu.fleet.Refused");
  private final ListAppender<ILoggingEvent> logged = new ListAppender<>();
  private ClusterCerts certs;
  private ClusterCerts foreign;
  private int cpPort;
  private int agentPort;
  private Vertx cp;
  private Vertx agent;

  @BeforeAll
  void start() throws Exception {
    logged.start();
    refused.addAppender(logged);
    certs = ClusterCerts.ca(dir.resolve("pki")).make("control-plane", "cp", "--ip", "127.0.0.1")
        .make("node-agent", "agent-a", "--ip", "127.0.0.1").make("client", "admin");
    foreign = ClusterCerts.ca(dir.resolve("foreign")).make("control-plane", "intruder", "--ip", "127.0.0.1");
    cpPort = freePort();
    agentPort = freePort();
    cp = Await.result(ClusteredVertx.start(config("cp", cpPort), FleetCerts.tls(certs, "cp"), new VertxOptions()),
        Duration.ofSeconds(60));
    agent = Await.result(ClusteredVertx.start(config("agent-a", agentPort), FleetCerts.tls(certs, "agent-a"),
        new VertxOptions()), Duration.ofSeconds(60));
    awaitMembers(cp, 2);
  }

  @AfterAll
  void stop() {
    refused.detachAppender(logged);
    if (agent != null) {
      Await.result(agent.close(), Duration.ofSeconds(30));
    }
    if (cp != null) {
      Await.result(cp.close(), Duration.ofSeconds(30));
    }
  }

  private static int freePort() throws Exception {
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      return s.getLocalPort();
    }
  }

  private ClusterConfig config(String cert, int port) {
    JsonObject json = new JsonObject().put("name", NAME).put("host", "127.0.0.1").put("membershipPort", port)
        .put("busPort", freePortQuietly())
        .put("members", new JsonArray().add("127.0.0.1:" + cpPort).add("127.0.0.1:" + agentPort))
        .put("memberTimeoutSeconds", 4).put("mergeDelaySeconds", 3)
        .put("tls", new JsonObject().put("ca", certs.ca().toString()).put("cert", certs.crt(cert).toString())
            .put("key", certs.key(cert).toString()));
    return ClusterConfig.fromJson(json, dir).validated();
  }

  private static int freePortQuietly() {
    try {
      return freePort();
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  private static List<String> members(Vertx v) {
    return ((io.vertx.core.internal.VertxInternal) v).clusterManager().getNodes();
  }

  private static void awaitMembers(Vertx v, int n) {
    Await.atMost(Duration.ofSeconds(30)).every(Duration.ofMillis(200)).until(() -> members(v), m -> m.size() == n,
        m -> "members: " + m);
  }

  /** A stranger's JGroups channel: the cluster's name and member list, and whatever TLS {@code ssl} gives. */
  private JChannel stranger(SSLContext ssl) throws Exception {
    TCP tcp = new TCP();
    tcp.setBindAddress(InetAddress.getLoopbackAddress());
    tcp.setBindPort(freePort());
    tcp.setPortRange(0);
    if (ssl != null) {
      tcp.setSocketFactory(new DefaultSocketFactory(ssl));
    }
    TCPPING ping = new TCPPING();
    ping.setInitialHosts(List.of(new InetSocketAddress(InetAddress.getLoopbackAddress(), cpPort)));
    ping.setPortRange(0);
    return new JChannel(tcp, ping, new NAKACK2(), new UNICAST3(), new STABLE(), new GMS().setJoinTimeout(3000));
  }

  /** TLS with {@code keys}' certificate that trusts any server, as an attacker's would. */
  private static SSLContext trustingAnything(KeyStore keys) throws Exception {
    KeyManagerFactory kmf = KeyManagerFactory.getInstance("PKIX");
    kmf.init(keys, "x".toCharArray());
    SSLContext ctx = SSLContext.getInstance("TLS");
    ctx.init(kmf.getKeyManagers(), new TrustManager[] {new X509TrustManager() {
      @Override
      public void checkClientTrusted(X509Certificate[] chain, String authType) {}

      @Override
      public void checkServerTrusted(X509Certificate[] chain, String authType) {}

      @Override
      public X509Certificate[] getAcceptedIssuers() {
        return new X509Certificate[0];
      }
    }}, null);
    return ctx;
  }

  private List<String> refusals() {
    return logged.list.stream().map(ILoggingEvent::getFormattedMessage).toList();
  }

  private void tryToJoin(String who, SSLContext ssl, String reason) throws Exception {
    try (JChannel ch = stranger(ssl)) {
      ch.connect(NAME);
      Await.sleep(1500);
      assertThat(ch.getView().size()).as(who + " is alone: " + ch.getView()).isEqualTo(1);
    }
    Await.atMost(Duration.ofSeconds(10)).every(Duration.ofMillis(100)).until(this::refusals,
        l -> l.stream().anyMatch(m -> m.startsWith("cluster membership: refused") && m.contains(reason)),
        l -> "no refusal of " + who + " (" + reason + ") in " + l);
    assertThat(members(cp)).as("the cluster after " + who).hasSize(2);
    assertThat(members(agent)).as("the cluster after " + who).hasSize(2);
  }

  @Test
  @DisplayName("a stranger with the cluster name and no certificate (plain TCP, or TLS without one) does not join; logged")
  void noCertificate() throws Exception {
    tryToJoin("plain TCP", null, "not TLS (plaintext)");
    tryToJoin("TLS without a certificate", trustingAnything(emptyKeys()), "no client certificate");
  }

  @Test
  @DisplayName("a self-signed certificate does not join; logged with the reason")
  void selfSigned() throws Exception {
    tryToJoin("a self-signed certificate", trustingAnything(foreign.keyStore("intruder")), "not issued by this cluster's CA");
  }

  @Test
  @DisplayName("a client certificate of the cluster CA does not join: membership is for control planes and agents")
  void clientRole() throws Exception {
    tryToJoin("a client certificate", trustingAnything(certs.keyStore("admin")),
        "(role client): only control-plane or node-agent may connect here");
  }

  @Test
  @DisplayName("the members see each other, and Java deserialization of a class off the allow-list is refused")
  void membersAndSerialFilter() throws Exception {
    assertThat(members(cp)).hasSize(2);
    java.io.ByteArrayOutputStream bytes = new java.io.ByteArrayOutputStream();
    try (java.io.ObjectOutputStream out = new java.io.ObjectOutputStream(bytes)) {
      out.writeObject(new java.util.ArrayList<>(List.of("fine", 1L)));
    }
    try (java.io.ObjectInputStream in = new java.io.ObjectInputStream(new java.io.ByteArrayInputStream(bytes.toByteArray()))) {
      assertThat(in.readObject()).isEqualTo(List.of("fine", 1L));
    }
    bytes.reset();
    try (java.io.ObjectOutputStream out = new java.io.ObjectOutputStream(bytes)) {
      out.writeObject(new java.util.concurrent.atomic.AtomicLong(7)); // Serializable, not on the list
    }
    try (java.io.ObjectInputStream in = new java.io.ObjectInputStream(new java.io.ByteArrayInputStream(bytes.toByteArray()))) {
      org.assertj.core.api.Assertions.assertThatThrownBy(in::readObject).isInstanceOf(java.io.InvalidClassException.class);
    }
    assertThat(refusals()).anyMatch(m -> m.contains("refused class java.util.concurrent.atomic.AtomicLong"));
  }

  private static KeyStore emptyKeys() throws Exception {
    KeyStore ks = KeyStore.getInstance("PKCS12");
    ks.load(null, null);
    return ks;
  }
}
