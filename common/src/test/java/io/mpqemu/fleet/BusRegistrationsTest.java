package io.mpqemu.fleet;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import io.mpqemu.testing.Await;
import io.mpqemu.testing.ClusterCerts;
import io.mpqemu.testing.Ports;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.internal.VertxInternal;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.core.spi.cluster.RegistrationInfo;
import io.vertx.core.spi.cluster.RegistrationUpdateEvent;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;

/**
 * The bus's subscriber lists repair themselves on a real two-member cluster (TLS membership, Infinispan):
 * a member that missed an update of who listens sends to the listener again, and a member whose
 * subscription the shared map lost puts it back, each within a few seconds and with one log line.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class BusRegistrationsTest {

  private static final String NAME = "bus-registrations-test";

  @TempDir
  static Path dir;

  private final ch.qos.logback.classic.Logger membership =
      (ch.qos.logback.classic.Logger) LoggerFactory.getLogger("io.mpqemu.fleet.Membership");
  private final ListAppender<ILoggingEvent> logged = new ListAppender<>();
  private ClusterCerts certs;
  private int cpPort;
  private int agentPort;
  private Vertx cp;
  private Vertx agent;

  @BeforeAll
  void start() throws Exception {
    logged.start();
    membership.addAppender(logged);
    certs = ClusterCerts.ca(dir.resolve("pki")).make("control-plane", "cp", "--ip", "127.0.0.1")
        .make("node-agent", "agent-a", "--ip", "127.0.0.1");
    cpPort = Ports.free();
    agentPort = Ports.free();
    cp = Await.result(ClusteredVertx.start(config("cp", cpPort), FleetCerts.tls(certs, "cp"), new VertxOptions()),
        Duration.ofSeconds(60));
    agent = Await.result(ClusteredVertx.start(config("agent-a", agentPort), FleetCerts.tls(certs, "agent-a"),
        new VertxOptions()), Duration.ofSeconds(60));
    Await.atMost(Duration.ofSeconds(30)).every(Duration.ofMillis(200)).until(() -> manager(cp).getNodes(),
        m -> m.size() == 2, m -> "members: " + m);
  }

  @AfterAll
  void stop() {
    membership.detachAppender(logged);
    for (Vertx v : new Vertx[] {agent, cp}) {
      if (v != null) {
        Await.result(v.close(), Duration.ofSeconds(30));
      }
    }
  }

  @Test
  @DisplayName("a member that missed a change of an address's subscribers (a stale list in its node selector) sends to them again")
  void staleSelectorRepaired() {
    AtomicInteger atCp = new AtomicInteger();
    AtomicInteger atAgent = new AtomicInteger();
    Await.result(cp.eventBus().consumer("test.stale", m -> atCp.incrementAndGet()).completion(), Duration.ofSeconds(30));
    Await.result(agent.eventBus().consumer("test.stale", m -> atAgent.incrementAndGet()).completion(), Duration.ofSeconds(30));
    awaitDelivered(atCp, "test.stale");
    assertThat(atAgent).hasPositiveValue();

    // the update that told the agent about the control plane's subscription is lost: its selector holds
    // only its own subscription
    List<RegistrationInfo> all = registrations(agent, "test.stale");
    List<RegistrationInfo> onlyAgent = all.stream().filter(r -> r.nodeId().equals(manager(agent).getNodeId())).toList();
    assertThat(onlyAgent).hasSize(1).hasSizeLessThan(all.size());
    manager(agent).busRegistrations().registrationsUpdated(new RegistrationUpdateEvent("test.stale", onlyAgent));

    awaitLogged("event bus: this member had missed a change of the subscribers of test.stale; sends to 2 member(s) now");
    awaitDelivered(atCp, "test.stale");
  }

  @Test
  @DisplayName("a subscription the shared map lost (as a healed split can lose one) is put back by its member")
  void lostSubscriptionPutBack() {
    AtomicInteger atCp = new AtomicInteger();
    Await.result(cp.eventBus().consumer("test.lost", m -> atCp.incrementAndGet()).completion(), Duration.ofSeconds(30));
    awaitDelivered(atCp, "test.lost");

    // the control plane's registration disappears from the map (removed by another member)
    RegistrationInfo cps = registrations(agent, "test.lost").stream()
        .filter(r -> r.nodeId().equals(manager(cp).getNodeId())).findFirst().orElseThrow();
    Promise<Void> removed = Promise.promise();
    manager(agent).removeRegistration("test.lost", cps, removed);
    Await.result(removed.future(), Duration.ofSeconds(30));

    awaitLogged("event bus: the cluster's map had lost 1 of this member's subscriptions to test.lost; put back");
    Await.atMost(Duration.ofSeconds(10)).every(Duration.ofMillis(100)).until(() -> registrations(agent, "test.lost"),
        r -> r.contains(cps), r -> "registrations of test.lost: " + r);
    awaitDelivered(atCp, "test.lost");
  }

  /** Publishes from the agent until the control plane has one more message than now. */
  private void awaitDelivered(AtomicInteger counter, String address) {
    int before = counter.get();
    Await.atMost(Duration.ofSeconds(15)).every(Duration.ofMillis(100)).until(() -> {
      agent.eventBus().publish(address, "ping");
      return counter.get();
    }, n -> n > before, n -> "messages to " + address + " at the control plane: " + n);
  }

  private void awaitLogged(String line) {
    Await.atMost(Duration.ofSeconds(15)).every(Duration.ofMillis(100)).until(
        () -> logged.list.stream().map(ILoggingEvent::getFormattedMessage).toList(), l -> l.contains(line),
        l -> "logged: " + l);
  }

  private static FleetClusterManager manager(Vertx v) {
    return (FleetClusterManager) ((VertxInternal) v).clusterManager();
  }

  private static List<RegistrationInfo> registrations(Vertx v, String address) {
    Promise<List<RegistrationInfo>> found = Promise.promise();
    manager(v).getRegistrations(address, found);
    Future<List<RegistrationInfo>> f = found.future();
    return Await.result(f, Duration.ofSeconds(30));
  }

  private ClusterConfig config(String cert, int port) throws Exception {
    JsonObject json = new JsonObject().put("name", NAME).put("host", "127.0.0.1").put("membershipPort", port)
        .put("busPort", Ports.free())
        .put("members", new JsonArray().add("127.0.0.1:" + cpPort).add("127.0.0.1:" + agentPort))
        .put("memberTimeoutSeconds", 4).put("mergeDelaySeconds", 3)
        .put("tls", new JsonObject().put("ca", certs.ca().toString()).put("cert", certs.crt(cert).toString())
            .put("key", certs.key(cert).toString()));
    return ClusterConfig.fromJson(json, dir).validated();
  }
}
