package io.mpqemu.dist;

import static org.assertj.core.api.Assertions.assertThat;

import io.mpqemu.agent.AgentConfig;
import io.mpqemu.agent.NodeAgentVerticle;
import io.mpqemu.controlplane.ControlPlaneConfig;
import io.mpqemu.controlplane.ControlPlaneVerticle;
import io.mpqemu.controlplane.EmbeddedAgent;
import io.mpqemu.fleet.ClusteredVertx;
import io.mpqemu.fleet.Role;
import io.mpqemu.testing.Promtool;
import io.vertx.core.Future;
import io.vertx.core.VertxOptions;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/**
 * Embedded mode's shape: one Vertx, built as {@code control-plane serve} builds it, running the control
 * plane (which renders the Vertx's registry) and a node agent (which renders one of its own), each
 * serving /metrics.
 */
class EmbeddedMetricsTest {

  private Path root;
  private ClusteredVertx.Started started;
  private String agentMetrics;
  private String controlPlaneMetrics;

  @BeforeEach
  void start() throws Exception {
    root = Files.createTempDirectory(Path.of("/tmp"), "mpqemu-embedded-metrics-");
    started = ClusteredVertx.startService(null, Role.CONTROL_PLANE, "not needed without --cluster",
        new VertxOptions().setPreferNativeTransport(true));
    AgentConfig agentConfig = EmbeddedNodeAgent.config(new EmbeddedAgent.Settings(root, null, "embedded-node", "tcg"))
        .withHttpListen("tcp:127.0.0.1:0");
    NodeAgentVerticle agent = new NodeAgentVerticle(agentConfig);
    await(started.vertx().deployVerticle(agent));
    ControlPlaneConfig d = ControlPlaneConfig.defaults(root.resolve("cp"));
    ControlPlaneConfig cpConfig = new ControlPlaneConfig(root.resolve("cp"), List.of("unix:" + root.resolve("cp.sock")),
        d.notReadyAfter(), d.lostAfter(), d.reconcileInterval(), d.callDeadline(), d.restartBackoffMax(), d.limits(),
        "tcp:127.0.0.1:0");
    ControlPlaneVerticle cp = new ControlPlaneVerticle(cpConfig, null, started.metrics());
    await(started.vertx().deployVerticle(cp));
    agentMetrics = get(agent.httpAddress());
    controlPlaneMetrics = get(cp.httpAddress());
  }

  @AfterEach
  void stop() throws Exception {
    started.vertx().close().toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
    started.metrics().close();
    try (Stream<Path> files = Files.walk(root)) {
      files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    }
  }

  @Test
  @DisplayName("each service's /metrics shows its own mpqemu_* series: mpqemu_vms once, with that service's meaning")
  void ownSeries() {
    assertThat(agentMetrics).contains("# HELP mpqemu_vms VMs this agent knows, by phase.\n",
        "\nmpqemu_memory_allocated_mib ").doesNotContain("mpqemu_nodes", "mpqemu_event_log_last_seq");
    assertThat(controlPlaneMetrics).contains("# HELP mpqemu_vms VMs by the phase last recorded.\n",
        "\nmpqemu_nodes{state=\"ready\"} ", "\nmpqemu_event_log_last_seq ").doesNotContain("mpqemu_memory_allocated_mib");
    assertThat(agentMetrics.split("# TYPE mpqemu_vms gauge\n", -1)).hasSize(2);
    assertThat(controlPlaneMetrics.split("# TYPE mpqemu_vms gauge\n", -1)).hasSize(2);
  }

  @Test
  @DisplayName("both have the JVM and process metrics; Vert.x's own are in the control plane's, whose registry the Vertx has")
  void libraryMetrics() throws Exception {
    for (String page : new String[] {agentMetrics, controlPlaneMetrics}) {
      assertThat(page).contains("\n# TYPE jvm_memory_used_bytes gauge\n", "\n# TYPE process_files_open_files gauge\n");
      Promtool.Result promtool = Promtool.checkMetrics(page);
      assertThat(promtool.exitCode()).as("promtool said: " + promtool.output()).isZero();
    }
    assertThat(controlPlaneMetrics).contains("\n# TYPE vertx_http_server_requests_total counter\n");
    assertThat(agentMetrics).doesNotContain("vertx_");
  }

  private static String get(String tcpAddress) throws Exception {
    int port = Integer.parseInt(tcpAddress.substring(tcpAddress.lastIndexOf(':') + 1));
    HttpResponse<String> response = HttpClient.newHttpClient().send(
        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/metrics")).build(),
        HttpResponse.BodyHandlers.ofString());
    assertThat(response.statusCode()).isEqualTo(200);
    return response.body();
  }

  private static <T> T await(Future<T> f) throws Exception {
    return f.toCompletionStage().toCompletableFuture().get(60, TimeUnit.SECONDS);
  }
}
