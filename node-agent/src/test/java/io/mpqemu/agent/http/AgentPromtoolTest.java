package io.mpqemu.agent.http;

import static org.assertj.core.api.Assertions.assertThat;

import io.mpqemu.agent.AgentConfig;
import io.mpqemu.agent.NodeAgentVerticle;
import io.mpqemu.agent.confine.ConfinementSettings;
import io.mpqemu.agent.confine.UidRange;
import io.mpqemu.agent.qemu.BootImage;
import io.mpqemu.fleet.ClusteredVertx;
import io.mpqemu.fleet.Role;
import io.mpqemu.grpc.UnaryCalls;
import io.mpqemu.spec.NodeLimits;
import io.mpqemu.testing.Await;
import io.mpqemu.testing.Promtool;
import io.mpqemu.testing.UidRanges;
import io.mpqemu.v1.AgentDeleteVmRequest;
import io.mpqemu.v1.AgentStopVmRequest;
import io.mpqemu.v1.Disk;
import io.mpqemu.v1.LaunchVmRequest;
import io.mpqemu.v1.NodeAgentServiceGrpcClient;
import io.mpqemu.v1.ProxiedDevice;
import io.mpqemu.v1.VmSpec;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
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

/** A real agent started as {@code node-agent serve} starts it (its Vertx reporting into its registry), after a real launch. */
class AgentPromtoolTest {

  private static final String MAIN_CPU = "mpqemu_process_cpu_seconds_total{device=\"\",role=\"main\",vm=\"vm-0f3a9c\"}";

  private Path root;
  private ClusteredVertx.Started started;
  private HttpClient http;
  private int port;
  private HttpGet scrape;

  @BeforeEach
  void start() throws Exception {
    root = Files.createTempDirectory(Path.of("/tmp"), "mpqemu-promtool-");
    Files.createDirectories(root.resolve("images"));
    started = ClusteredVertx.startService(null, Role.NODE_AGENT, "promtool-node", "not needed without --cluster",
        new VertxOptions().setPreferNativeTransport(true));
    Vertx vertx = started.vertx();
    AgentConfig config = new AgentConfig("promtool-node", List.of("unix:" + root.resolve("agent.sock")),
        root.resolve("state"), root.resolve("images"), Path.of("qemu-system-x86_64"), "tcg", NodeLimits.defaults(), 4096, 8,
        Map.of(), Duration.ofSeconds(30), Duration.ofSeconds(5), 1024 * 1024).withHttpListen("tcp:127.0.0.1:0")
        .withConfinement(ConfinementSettings.DEFAULT.withUids(UidRange.parse(UidRanges.next())));
    NodeAgentVerticle agent = new NodeAgentVerticle(config, null, started.metrics());
    await(vertx.deployVerticle(agent));
    port = HttpGet.port(agent.httpAddress());
    http = vertx.createHttpClient(new HttpClientOptions().setKeepAlive(false));

    BootImage.writeRaw(root.resolve("images/hello.img"), "hello from the promtool test", false);
    VmSpec spec = VmSpec.newBuilder().setName("web").setMemoryMib(64)
        .addDevices(ProxiedDevice.newBuilder().setId("lsi0").setDriver("lsi53c895a")
            .addDisks(Disk.newBuilder().setId("boot").setImage("hello.img"))).build();
    call(NodeAgentServiceGrpcClient.LaunchVm, LaunchVmRequest.newBuilder().setVmId("vm-0f3a9c").setSpec(spec).build());
    HttpGet.get(http, port, "/metrics");
    // the per-process series come with the first sample of the VM's processes, at most 2 s later
    scrape = Await.atMost(Duration.ofSeconds(15)).every(Duration.ofMillis(200)).until(
        () -> HttpGet.get(http, port, "/metrics"), page -> page.sample(MAIN_CPU) != null,
        page -> "no per-process series yet: " + page.body());
  }

  @AfterEach
  void stop() throws Exception {
    try {
      call(NodeAgentServiceGrpcClient.StopVm, AgentStopVmRequest.newBuilder().setVmId("vm-0f3a9c").setForce(true).build());
      call(NodeAgentServiceGrpcClient.DeleteVm, AgentDeleteVmRequest.newBuilder().setVmId("vm-0f3a9c").setForce(true).build());
    } catch (Exception e) {
      // the launch in start() failed: nothing to remove
    } finally {
      started.vertx().close().toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
      started.metrics().close();
      try (Stream<Path> files = Files.walk(root)) {
        files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
      }
    }
  }

  @Test
  @DisplayName("promtool check metrics accepts the agent's /metrics with neither error nor lint problem")
  void promtoolAccepts() throws Exception {
    assertThat(scrape.status()).isEqualTo(200);
    assertThat(scrape.sample("mpqemu_launch_seconds_count")).as("a launch was measured").isEqualTo(1);
    assertThat(scrape.body()).as("the per-process families are checked too").contains(
        "\n# TYPE mpqemu_process_cpu_seconds_total counter\n", "\n# TYPE mpqemu_process_resident_memory_bytes gauge\n",
        "\n# TYPE mpqemu_process_cgroup_memory_bytes gauge\n");

    Promtool.Result result = Promtool.checkMetrics(scrape.body());

    assertThat(result.problemsOf("mpqemu_")).as("lint problems of our own families").isEmpty();
    // lint problems of library families fail too (exit 3): the whole page lints clean today
    assertThat(result.exitCode()).as("promtool said: " + result.output()).isZero();
    assertThat(result.output()).isBlank();
  }

  @Test
  @DisplayName("the agent's /metrics also has the JVM's, the process's and Vert.x's metrics, with a VM id only in the"
      + " per-process series")
  void libraryMetrics() {
    assertThat(scrape.body()).contains("\n# TYPE jvm_memory_used_bytes gauge\n", "\n# TYPE jvm_threads_live_threads gauge\n",
        "\n# TYPE jvm_classes_loaded_classes gauge\n", "\n# TYPE jvm_gc_memory_allocated_bytes_total counter\n",
        "\n# TYPE process_cpu_usage gauge\n", "\n# TYPE process_uptime_seconds gauge\n");
    assertThat(scrape.sample("process_files_open_files")).as("open file descriptors").isPositive();
    assertThat(scrape.sample("vertx_http_server_requests_total{code=\"200\",method=\"GET\",route=\"/metrics\"}"))
        .as("the first scrape, counted by Vert.x").isGreaterThanOrEqualTo(1);
    assertThat(scrape.sample("vertx_http_server_requests_total{code=\"200\",method=\"POST\",route=\"\"}"))
        .as("the LaunchVm gRPC call").isGreaterThanOrEqualTo(1);
    assertThat(scrape.sample("vertx_eventbus_published_total{address=\"mpqemu.vm.events\",side=\"local\"}"))
        .as("the launch's events").isGreaterThanOrEqualTo(3);
    // a series per VM process is bounded by the node's VMs and removed with them; nothing else names a VM
    assertThat(scrape.body().lines().filter(line -> line.contains("vm-0f3a9c")))
        .as("the VM id only in the per-process series").isNotEmpty().allMatch(line -> line.startsWith("mpqemu_process_"));
    assertThat(scrape.body()).as("no raw path or client pool named by an address")
        .doesNotContain("path=\"", "pool_type=\"http\"");
  }

  private <Req, Resp> Resp call(io.vertx.grpc.common.ServiceMethod<Resp, Req> method, Req request) throws Exception {
    GrpcClient grpc = GrpcClient.client(started.vertx());
    try {
      return await(UnaryCalls.call(grpc, SocketAddress.domainSocketAddress(root.resolve("agent.sock").toString()), method,
          request, Duration.ofSeconds(60)));
    } finally {
      grpc.close();
    }
  }

  private static <T> T await(Future<T> f) throws Exception {
    return f.toCompletionStage().toCompletableFuture().get(90, TimeUnit.SECONDS);
  }
}
