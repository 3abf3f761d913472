package io.mpqemu.agent.http;

import static org.assertj.core.api.Assertions.assertThat;

import io.mpqemu.agent.AgentConfig;
import io.mpqemu.agent.NodeAgentVerticle;
import io.mpqemu.agent.confine.ConfinementSettings;
import io.mpqemu.agent.confine.UidRange;
import io.mpqemu.agent.qemu.BootImage;
import io.mpqemu.grpc.UnaryCalls;
import io.mpqemu.http.HttpListener;
import io.mpqemu.metrics.ServiceRegistry;
import io.mpqemu.spec.NodeLimits;
import io.mpqemu.testing.Promtool;
import io.mpqemu.testing.UidRanges;
import io.mpqemu.v1.AgentDeleteVmRequest;
import io.mpqemu.v1.AgentStopVmRequest;
import io.mpqemu.v1.Disk;
import io.mpqemu.v1.LaunchVmRequest;
import io.mpqemu.v1.NodeAgentServiceGrpcClient;
import io.mpqemu.v1.Phase;
import io.mpqemu.v1.ProxiedDevice;
import io.mpqemu.v1.VmSpec;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.http.HttpClient;
import io.vertx.core.json.JsonObject;
import io.vertx.core.net.SocketAddress;
import io.vertx.grpc.client.GrpcClient;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/** A real agent (real QEMU) serving HTTP on a loopback port. */
class AgentHttpTest {

  private static final Duration DEADLINE = Duration.ofSeconds(60);

  private Path root;
  private Vertx vertx;
  private HttpClient http;
  private GrpcClient grpc;
  private NodeAgentVerticle agent;
  private int port;

  @BeforeEach
  void start() throws Exception {
    root = Files.createTempDirectory(Path.of("/tmp"), "mpqemu-http-");
    Files.createDirectories(root.resolve("images"));
    vertx = Vertx.builder().with(new VertxOptions().setPreferNativeTransport(true)).build();
    // a fresh connection per request: the Vert.x 5.0.7 client now and then never completes a response read
    // on a reused keep-alive connection (the server did send it; the JDK client on the same server never stalls)
    http = vertx.createHttpClient(new io.vertx.core.http.HttpClientOptions().setKeepAlive(false));
    grpc = GrpcClient.client(vertx);
    AgentConfig config = new AgentConfig("http-node", List.of("unix:" + root.resolve("agent.sock")), root.resolve("state"),
        root.resolve("images"), Path.of("qemu-system-x86_64"), "tcg", NodeLimits.defaults(), 4096, 8, Map.of(),
        Duration.ofSeconds(30), Duration.ofSeconds(5), 1024 * 1024).withHttpListen("tcp:127.0.0.1:0")
        .withConfinement(ConfinementSettings.DEFAULT.withUids(UidRange.parse(UidRanges.next())));
    agent = new NodeAgentVerticle(config);
    await(vertx.deployVerticle(agent));
    port = HttpGet.port(agent.httpAddress());
  }

  @AfterEach
  void stop() throws Exception {
    try {
      call(NodeAgentServiceGrpcClient.StopVm, AgentStopVmRequest.newBuilder().setVmId("web-1").setForce(true).build());
      call(NodeAgentServiceGrpcClient.DeleteVm, AgentDeleteVmRequest.newBuilder().setVmId("web-1").setForce(true).build());
    } catch (Exception e) {
      // no such VM: the test did not launch one, or removed it
    }
    vertx.close().toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
    try (Stream<Path> files = Files.walk(root)) {
      files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    }
  }

  @Test
  @DisplayName("/healthz answers 200 and /readyz 200 with its checks once QEMU was probed and the state dir is writable")
  void healthAndReadiness() throws Exception {
    HttpGet health = HttpGet.get(http, port, "/healthz");
    assertThat(health.status()).isEqualTo(200);
    assertThat(health.json().getString("status")).isEqualTo("alive");

    HttpGet ready = HttpGet.get(http, port, "/readyz");
    assertThat(ready.status()).isEqualTo(200);
    JsonObject body = ready.json();
    assertThat(body.getBoolean("ready")).isTrue();
    assertThat(body.getJsonArray("checks").stream().map(c -> ((JsonObject) c).getString("name")))
        .containsExactly("started", "qemu", "stateDir");
  }

  @Test
  @DisplayName("/readyz answers 503 naming the state dir when it is not a writable directory")
  void notReady() throws Exception {
    // a plain file where the directory was: unusable even for root, whom permissions do not stop
    Path state = root.resolve("state");
    Path aside = root.resolve("state.aside");
    Files.move(state, aside);
    Files.writeString(state, "not a directory");
    try {
      HttpGet ready = HttpGet.get(http, port, "/readyz");
      assertThat(ready.status()).isEqualTo(503);
      assertThat(ready.body()).contains("is not a writable directory");
    } finally {
      Files.delete(state);
      Files.move(aside, state);
    }
    assertThat(HttpGet.get(http, port, "/readyz").status()).as("ready again once it is back").isEqualTo(200);
  }

  @Test
  @DisplayName("/metrics is Prometheus text and counts a real launch, its latency and the running VM")
  void metricsAfterLaunch() throws Exception {
    HttpGet before = HttpGet.get(http, port, "/metrics");
    assertThat(before.status()).isEqualTo(200);
    assertThat(before.contentType()).isEqualTo(ServiceRegistry.CONTENT_TYPE);
    assertThat(before.body()).contains("# HELP mpqemu_launches_total ", "# TYPE mpqemu_launch_seconds histogram\n");
    assertThat(before.sample("mpqemu_launches_total")).isZero();
    assertThat(before.sample("mpqemu_vms{phase=\"running\"}")).isZero();

    BootImage.writeRaw(root.resolve("images/hello.img"), "hello from the http test", false);
    VmSpec spec = VmSpec.newBuilder().setName("web").setMemoryMib(64)
        .addDevices(ProxiedDevice.newBuilder().setId("lsi0").setDriver("lsi53c895a")
            .addDisks(Disk.newBuilder().setId("boot").setImage("hello.img"))).build();
    var vm = call(NodeAgentServiceGrpcClient.LaunchVm, LaunchVmRequest.newBuilder().setVmId("web-1").setSpec(spec).build());
    assertThat(vm.getPhase()).isEqualTo(Phase.PHASE_RUNNING);

    HttpGet after = HttpGet.get(http, port, "/metrics");
    assertThat(after.sample("mpqemu_launches_total")).isEqualTo(1);
    assertThat(after.sample("mpqemu_launch_failures_total")).isZero();
    assertThat(after.sample("mpqemu_launch_seconds_count")).isEqualTo(1);
    assertThat(after.sample("mpqemu_launch_seconds_bucket{le=\"+Inf\"}")).isEqualTo(1);
    assertThat(after.sample("mpqemu_launch_seconds_sum")).isPositive();
    assertThat(after.sample("mpqemu_vms{phase=\"running\"}")).isEqualTo(1);
    assertThat(after.sample("mpqemu_memory_allocated_mib")).isEqualTo(64);
    assertThat(after.sample("mpqemu_events_total")).isGreaterThanOrEqualTo(3);
    assertThat(after.sample("mpqemu_event_subscribers")).isZero();
    assertThat(after.sample("mpqemu_node_heartbeats_total")).as("the first heartbeat goes out at start").isPositive();
  }

  @Test
  @DisplayName("in a Vertx built without metrics options /metrics still has the JVM and process metrics, only Vert.x's missing")
  void plainVertx() throws Exception {
    HttpGet scrape = HttpGet.get(http, port, "/metrics");

    assertThat(scrape.sample("mpqemu_vms{phase=\"running\"}")).isZero();
    assertThat(scrape.sample("process_files_open_files")).isPositive();
    assertThat(scrape.body()).contains("\n# TYPE jvm_memory_used_bytes gauge\n", "\n# TYPE jvm_threads_live_threads gauge\n")
        .doesNotContain("vertx_");
    Promtool.Result promtool = Promtool.checkMetrics(scrape.body());
    assertThat(promtool.exitCode()).as("promtool said: " + promtool.output()).isZero();
  }

  @Test
  @DisplayName("an unknown path answers 404 and another method 405, both as JSON errors")
  void unknownPath() throws Exception {
    HttpGet missing = HttpGet.get(http, port, "/nope");
    assertThat(missing.status()).isEqualTo(404);
    assertThat(missing.json().getJsonObject("error").getString("code")).isEqualTo("NOT_FOUND");

    int status = await(http.request(io.vertx.core.http.HttpMethod.POST, port, "127.0.0.1", "/metrics")
        .compose(r -> r.send()).map(r -> r.statusCode()));
    assertThat(status).isEqualTo(405);
  }

  @Test
  @DisplayName("HTTP refuses a non-loopback address with a message that says what to do")
  void refusesNonLoopback() {
    Future<String> bound = HttpListener.listen(vertx, vertx.createHttpServer(), "tcp:192.0.2.1:7080");
    Throwable failure = bound.toCompletionStage().toCompletableFuture().handle((v, e) -> e).join();
    assertThat(failure).hasMessageContaining("is not a loopback address")
        .hasMessageContaining("listen on 127.0.0.1 or a UNIX socket");
  }

  private <Req, Resp> Resp call(io.vertx.grpc.common.ServiceMethod<Resp, Req> method, Req request) throws Exception {
    return await(UnaryCalls.call(grpc, SocketAddress.domainSocketAddress(root.resolve("agent.sock").toString()), method,
        request, DEADLINE));
  }

  private static <T> T await(Future<T> f) throws Exception {
    return f.toCompletionStage().toCompletableFuture().get(90, TimeUnit.SECONDS);
  }
}
