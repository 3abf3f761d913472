package io.mpqemu.controlplane.http;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.Timestamp;
import com.google.protobuf.util.JsonFormat;
import io.mpqemu.controlplane.ControlPlaneConfig;
import io.mpqemu.controlplane.ControlPlaneVerticle;
import io.mpqemu.controlplane.http.HttpClientSupport.Answer;
import io.mpqemu.fleet.ClusteredVertx;
import io.mpqemu.fleet.Role;
import io.mpqemu.grpc.UnaryCalls;
import io.mpqemu.testing.Promtool;
import io.mpqemu.v1.CreateVmRequest;
import io.mpqemu.v1.DesiredState;
import io.mpqemu.v1.Disk;
import io.mpqemu.v1.EventType;
import io.mpqemu.v1.NodeHeartbeat;
import io.mpqemu.v1.Phase;
import io.mpqemu.v1.ProxiedDevice;
import io.mpqemu.v1.Vm;
import io.mpqemu.v1.VmEvent;
import io.mpqemu.v1.VmServiceGrpcClient;
import io.mpqemu.v1.VmSpec;
import io.mpqemu.wire.BusAddresses;
import io.vertx.core.VertxOptions;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.json.JsonObject;
import io.vertx.core.net.SocketAddress;
import io.vertx.grpc.client.GrpcClient;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A real control plane started as {@code control-plane serve} starts it (its Vertx reporting into its registry). */
class ControlPlanePromtoolTest {

  @TempDir
  Path dataDir;

  private ClusteredVertx.Started started;
  private Vm web;
  private Answer scrape;

  @BeforeEach
  void start() throws Exception {
    started = ClusteredVertx.startService(null, Role.CONTROL_PLANE, "not needed without --cluster",
        new VertxOptions().setPreferNativeTransport(true));
    ControlPlaneConfig defaults = ControlPlaneConfig.defaults(dataDir);
    ControlPlaneConfig config = new ControlPlaneConfig(dataDir, List.of("tcp:127.0.0.1:0"), defaults.notReadyAfter(),
        defaults.lostAfter(), Duration.ofHours(1), defaults.callDeadline(), defaults.restartBackoffMax(),
        defaults.limits(), "tcp:127.0.0.1:0")
        // what HTTP answers is under test here, not who may ask (HttpDoorsTest): loopback callers are trusted
        .withAccess(io.mpqemu.access.AccessSettings.defaults().withInsecureTcp(true));
    ControlPlaneVerticle cp = new ControlPlaneVerticle(config, null, started.metrics());
    HttpClientSupport.await(started.vertx().deployVerticle(cp));
    String grpcBound = cp.boundAddresses().get(0);
    int grpcPort = Integer.parseInt(grpcBound.substring(grpcBound.lastIndexOf(':') + 1));
    int port = Integer.parseInt(cp.httpAddress().substring(cp.httpAddress().lastIndexOf(':') + 1));
    HttpClient http = started.vertx().createHttpClient(new HttpClientOptions().setKeepAlive(false));

    // a node to place the VM on: an agent's events count only for the VMs placed on its node
    started.vertx().eventBus().publish(BusAddresses.HEARTBEATS, new JsonObject(JsonFormat.printer().print(
        NodeHeartbeat.newBuilder().setNodeId("node-a").setEndpoint("unix:/nonexistent")
            .setInfo(ControlPlaneHttpTest.placeable("node-a")).build())));
    long placedBy = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
    while (!HttpClientSupport.get(http, port, "/v1/nodes").body().contains("NODE_STATE_READY") && System.nanoTime() < placedBy) {
      Thread.sleep(20);
    }
    VmSpec spec = VmSpec.newBuilder().setName("web").setMemoryMib(64).addDevices(ProxiedDevice.newBuilder().setId("lsi0")
        .setDriver("lsi53c895a").addDisks(Disk.newBuilder().setId("boot").setImage("hello.img"))).build();
    // Vert.x 5 closes a client that is garbage collected: the chain holds it until the answer
    GrpcClient grpc = GrpcClient.client(started.vertx());
    web = HttpClientSupport.await(UnaryCalls.call(grpc,
        SocketAddress.inetSocketAddress(grpcPort, "127.0.0.1"), VmServiceGrpcClient.CreateVm,
        CreateVmRequest.newBuilder().setSpec(spec).setDesiredState(DesiredState.RUNNING).build(), Duration.ofSeconds(30))
        .eventually(grpc::close));
    while (!placedOnNodeA(http, port) && System.nanoTime() < placedBy) {
      Thread.sleep(20);
    }
    // what an agent publishes: a launch that took 1.5 s
    publish(event(EventType.LAUNCH_STARTED, Phase.PHASE_LAUNCHING, 1, 100_000));
    publish(event(EventType.LAUNCHED, Phase.PHASE_RUNNING, 2, 101_500));
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
    do {
      Thread.sleep(20);
      scrape = HttpClientSupport.get(http, port, "/metrics");
    } while (!Double.valueOf(1).equals(scrape.sample("mpqemu_launch_seconds_count")) && System.nanoTime() < deadline);
    // once more, so that Vert.x has counted a finished /metrics request
    scrape = HttpClientSupport.get(http, port, "/metrics");
  }

  private boolean placedOnNodeA(HttpClient http, int port) throws Exception {
    Vm.Builder vm = Vm.newBuilder();
    JsonFormat.parser().merge(HttpClientSupport.get(http, port, "/v1/vms/" + web.getId()).body(), vm);
    return vm.getStatus().getNode().equals("node-a");
  }

  @AfterEach
  void stop() throws Exception {
    started.vertx().close().toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
    started.metrics().close();
  }

  @Test
  @DisplayName("promtool check metrics accepts the control plane's /metrics with neither error nor lint problem")
  void promtoolAccepts() throws Exception {
    assertThat(scrape.status()).isEqualTo(200);
    assertThat(scrape.sample("mpqemu_launch_seconds_count")).as("the launch was measured").isEqualTo(1);

    Promtool.Result result = Promtool.checkMetrics(scrape.body());

    assertThat(result.problemsOf("mpqemu_")).as("lint problems of our own families").isEmpty();
    // lint problems of library families fail too (exit 3): the whole page lints clean today
    assertThat(result.exitCode()).as("promtool said: " + result.output()).isZero();
    assertThat(result.output()).isBlank();
  }

  @Test
  @DisplayName("the control plane's /metrics also has the JVM's, the process's and Vert.x's metrics, with no VM id in any label")
  void libraryMetrics() {
    assertThat(scrape.body()).contains("\n# TYPE jvm_memory_used_bytes gauge\n", "\n# TYPE jvm_threads_live_threads gauge\n",
        "\n# TYPE jvm_classes_loaded_classes gauge\n", "\n# TYPE process_cpu_seconds_total counter\n");
    assertThat(scrape.sample("process_files_open_files")).as("open file descriptors").isPositive();
    assertThat(scrape.sample("vertx_http_server_requests_total{code=\"200\",method=\"GET\",route=\"/metrics\"}"))
        .as("earlier scrapes, counted by Vert.x").isGreaterThanOrEqualTo(1);
    assertThat(scrape.sample("vertx_http_server_requests_total{code=\"200\",method=\"POST\",route=\"\"}"))
        .as("the CreateVm gRPC call").isEqualTo(1);
    assertThat(scrape.sample("vertx_eventbus_received_total{address=\"mpqemu.vm.events\",side=\"local\"}"))
        .as("the agent events").isEqualTo(2);
    assertThat(scrape.sample("vertx_pool_completed_total{pool_name=\"mpqemu-store\",pool_type=\"worker\"}"))
        .as("the store's worker pool").isPositive();
    assertThat(scrape.body()).as("no VM id, raw path or client pool named by a node's address")
        .doesNotContain(web.getId(), "path=\"", "pool_type=\"http\"");
  }

  private void publish(VmEvent e) throws Exception {
    started.vertx().eventBus().publish(BusAddresses.VM_EVENTS, new JsonObject(JsonFormat.printer().print(e)));
  }

  private VmEvent event(EventType type, Phase phase, long vmSeq, long millis) {
    return VmEvent.newBuilder().setVmId(web.getId()).setVmName("web").setNode("node-a").setVmSeq(vmSeq).setType(type)
        .setPhase(phase).setTime(Timestamp.newBuilder().setSeconds(millis / 1000).setNanos((int) (millis % 1000) * 1_000_000))
        .build();
  }
}
