package io.mpqemu.dist.cluster;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.mpqemu.agent.AgentConfig;
import io.mpqemu.agent.NodeAgentVerticle;
import io.mpqemu.agent.confine.ConfinementSettings;
import io.mpqemu.agent.confine.UidRange;
import io.mpqemu.controlplane.dispatch.AgentClients;
import io.mpqemu.fleet.ClusterTls;
import io.mpqemu.grpc.UnaryCalls;
import io.mpqemu.spec.NodeLimits;
import io.mpqemu.testing.ClusterCerts;
import io.mpqemu.testing.UidRanges;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/**
 * The control plane's calls to an agent under mutual TLS (a real agent on loopback, certificates from
 * make-certs.sh): the agent must prove with its certificate's CN that it is the node being called.
 */
class AgentIdentityTest {

  private Path root;
  private Vertx vertx;
  private ClusterCerts pki;
  private String endpoint;

  @BeforeEach
  void start() throws Exception {
    root = Files.createTempDirectory(Path.of("/tmp"), "mpqemu-identity-");
    pki = ClusterCerts.ca(root.resolve("pki")).make("control-plane", "cp", "--ip", "127.0.0.1")
        .make("node-agent", "agent-b", "--ip", "127.0.0.1");
    Files.createDirectories(root.resolve("images"));
    vertx = Vertx.builder().with(new VertxOptions().setPreferNativeTransport(true)).build();
    NodeAgentVerticle agent = new NodeAgentVerticle(new AgentConfig("agent-b", List.of("tcp:127.0.0.1:0"),
        root.resolve("state"), root.resolve("images"), Path.of("qemu-system-x86_64"), "tcg", NodeLimits.defaults(), 1024, 4,
        Map.of(), Duration.ofSeconds(30), Duration.ofSeconds(5), 1024 * 1024)
        .withConfinement(ConfinementSettings.DEFAULT.withUids(UidRange.parse(UidRanges.next()))),
        ClusterTls.load(pki.crt("ca"), pki.crt("agent-b"), pki.key("agent-b")));
    ThreeHosts.await(vertx.deployVerticle(agent));
    endpoint = agent.boundAddresses().get(0);
  }

  @AfterEach
  void stop() throws Exception {
    ThreeHosts.await(vertx.close());
    try (Stream<Path> files = Files.walk(root)) {
      files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    }
  }

  @Test
  @DisplayName("the agent of node agent-b answers as agent-b, and is refused when called as agent-x")
  void certificateNamesTheNode() throws Exception {
    AgentClients agents = new AgentClients(vertx, Duration.ofSeconds(30),
        ClusterTls.load(pki.crt("ca"), pki.crt("cp"), pki.key("cp")));
    assertThat(ThreeHosts.await(agents.list(AgentClients.Target.of("agent-b", endpoint)))).isEmpty();
    assertThatThrownBy(() -> ThreeHosts.await(agents.list(AgentClients.Target.of("agent-x", endpoint))))
        .isInstanceOf(UnaryCalls.WrongPeerException.class)
        .hasMessage("node-agent call: refused " + endpoint + ": it presents the certificate of 'agent-b', not of node agent-x"
            + " (a node's certificate CN must be its node id)");
    ThreeHosts.await(agents.close());
  }
}
