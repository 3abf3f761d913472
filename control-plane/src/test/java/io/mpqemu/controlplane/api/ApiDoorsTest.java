package io.mpqemu.controlplane.api;

import static org.assertj.core.api.Assertions.assertThat;

import io.mpqemu.access.AccessSettings;
import io.mpqemu.controlplane.ControlPlaneConfig;
import io.mpqemu.controlplane.ControlPlaneVerticle;
import io.mpqemu.controlplane.vm.Quota;
import io.mpqemu.grpc.GrpcCallException;
import io.mpqemu.grpc.UnaryCalls;
import io.mpqemu.testing.Await;
import io.mpqemu.v1.CreateVmRequest;
import io.mpqemu.v1.DesiredState;
import io.mpqemu.v1.Disk;
import io.mpqemu.v1.ListVmsRequest;
import io.mpqemu.v1.ProxiedDevice;
import io.mpqemu.v1.VmEvent;
import io.mpqemu.v1.VmServiceGrpcClient;
import io.mpqemu.v1.VmSpec;
import io.mpqemu.v1.WatchEventsRequest;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.net.SocketAddress;
import io.vertx.grpc.client.GrpcClient;
import io.vertx.grpc.client.GrpcClientRequest;
import io.vertx.grpc.client.GrpcClientResponse;
import io.vertx.grpc.common.GrpcStatus;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The doors of the control plane's API as a browser, a gRPC-Web proxy or a greedy client meets them,
 * with real clients: curl for HTTP/1.1, h2c, gRPC-Web and Host headers, Vert.x's gRPC client for streams.
 */
class ApiDoorsTest {

  private static final Duration DEADLINE = Duration.ofSeconds(10);

  @TempDir
  Path dir;
  private Vertx vertx;
  private ControlPlaneVerticle cp;
  private GrpcClient grpc;

  private void start(AccessSettings access, Quota quota, String httpListen) {
    vertx = Vertx.builder().with(new VertxOptions().setPreferNativeTransport(true)).build();
    ControlPlaneConfig defaults = ControlPlaneConfig.defaults(dir.resolve("data"));
    ControlPlaneConfig config = new ControlPlaneConfig(dir.resolve("data"), List.of("unix:" + dir.resolve("api.sock")),
        defaults.notReadyAfter(), defaults.lostAfter(), Duration.ofHours(1), defaults.callDeadline(),
        defaults.restartBackoffMax(), defaults.limits(), httpListen).withAccess(access).withQuota(quota);
    cp = new ControlPlaneVerticle(config);
    Await.result(vertx.deployVerticle(cp));
    grpc = GrpcClient.client(vertx);
  }

  @AfterEach
  void stop() {
    if (vertx != null) {
      Await.result(vertx.close());
    }
  }

  private SocketAddress api() {
    return SocketAddress.domainSocketAddress(dir.resolve("api.sock").toString());
  }

  /** curl's output (headers and body) and exit code. */
  private record Curl(int exit, String output) {}

  private static Curl curl(String... args) throws Exception {
    List<String> command = new ArrayList<>(List.of("curl", "-sS", "-i", "-m", "5"));
    command.addAll(List.of(args));
    Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(p.waitFor(20, TimeUnit.SECONDS)).isTrue();
    return new Curl(p.exitValue(), out);
  }

  private static CreateVmRequest vm(String name, int memoryMib) {
    return CreateVmRequest.newBuilder().setDesiredState(DesiredState.STOPPED).setSpec(VmSpec.newBuilder().setName(name)
        .setMemoryMib(memoryMib).addDevices(ProxiedDevice.newBuilder().setId("lsi0").setDriver("lsi53c895a")
            .addDisks(Disk.newBuilder().setId("boot").setImage("boot.img")))).build();
  }

  private List<String> names() {
    return Await.result(UnaryCalls.call(grpc, api(), VmServiceGrpcClient.ListVms, ListVmsRequest.getDefaultInstance(),
        DEADLINE)).getVmsList().stream().map(v -> v.getSpec().getName()).toList();
  }

  /**
   * Opens a WatchEvents stream through {@code client}: its request (to cancel) and its response (whose
   * headers say if it was refused).
   */
  private Map.Entry<GrpcClientRequest<WatchEventsRequest, VmEvent>, GrpcClientResponse<WatchEventsRequest, VmEvent>>
      watch(GrpcClient client) {
    return Await.result(client.request(api(), VmServiceGrpcClient.WatchEvents).compose(req -> {
      req.end(WatchEventsRequest.getDefaultInstance());
      return req.response().map(resp -> Map.entry(req, resp));
    }));
  }

  /** The status of a refused stream (a trailers-only answer carries it in its headers); null for an open one. */
  private static String refusal(GrpcClientResponse<?, ?> response) {
    return response.headers().get("grpc-status");
  }

  @Test
  @DisplayName("the gRPC socket answers HTTP/1.1 with 505, drops an h2c upgrade, refuses gRPC-Web with 415;"
      + " gRPC over HTTP/2 works")
  void grpcOnly() throws Exception {
    start(AccessSettings.defaults(), Quota.NONE, "");
    String socket = dir.resolve("api.sock").toString();
    String url = "http://localhost/mpqemu.v1.VmService/ListVms";
    Path body = dir.resolve("empty.grpc");
    Files.write(body, new byte[5]); // one empty ListVmsRequest, framed

    Curl http1 = curl("--unix-socket", socket, "-H", "content-type: application/grpc", "--data-binary", "@" + body, url);
    assertThat(http1.output()).startsWith("HTTP/1.1 505").doesNotContain("grpc-status");

    Curl upgrade = curl("--http2", "--unix-socket", socket, "-H", "content-type: application/grpc", "--data-binary",
        "@" + body, url);
    assertThat(upgrade.exit()).as("the upgraded connection is dropped: " + upgrade.output()).isNotZero();
    assertThat(upgrade.output()).doesNotContain("grpc-status");

    Curl web = curl("--http2-prior-knowledge", "--unix-socket", socket, "-H", "content-type: application/grpc-web+proto",
        "--data-binary", "@" + body, url);
    assertThat(web.output()).startsWith("HTTP/2 415").doesNotContain("grpc-status");

    Curl grpcOverH2 = curl("--http2-prior-knowledge", "--unix-socket", socket, "-H", "content-type: application/grpc",
        "-H", "te: trailers", "--data-binary", "@" + body, url);
    assertThat(grpcOverH2.output()).startsWith("HTTP/2 200");
    assertThat(names()).isEmpty();
  }

  @Test
  @DisplayName("HTTP on loopback TCP: a foreign Host gets 421 and no data; /v1 needs an identified caller;"
      + " /metrics stays open")
  void httpHostAndAuthorization() throws Exception {
    start(AccessSettings.defaults(), Quota.NONE, "tcp:127.0.0.1:0");
    Await.result(UnaryCalls.call(grpc, api(), VmServiceGrpcClient.CreateVm, vm("secret-vm", 64), DEADLINE));
    String base = "http://" + cp.httpAddress().substring("tcp:".length());

    Curl rebound = curl("-H", "Host: evil.example", base + "/v1/vms");
    assertThat(rebound.output()).startsWith("HTTP/1.1 421").doesNotContain("secret-vm");
    Curl reboundMetrics = curl("-H", "Host: evil.example:80", base + "/metrics");
    assertThat(reboundMetrics.output()).startsWith("HTTP/1.1 421").doesNotContain("mpqemu_");

    Curl anonymous = curl(base + "/v1/vms");
    assertThat(anonymous.output()).startsWith("HTTP/1.1 403").contains("PERMISSION_DENIED").doesNotContain("secret-vm");
    assertThat(curl(base + "/metrics").output()).startsWith("HTTP/1.1 200").contains("mpqemu_event_log_last_seq");
    assertThat(curl("-H", "Host: localhost", base + "/healthz").output()).startsWith("HTTP/1.1 200");
  }

  @Test
  @DisplayName("with an identified caller /v1 answers: over a UNIX socket (root, any Host), and on loopback TCP"
      + " behind --insecure-plaintext-tcp with the right Host, where a foreign Host is still refused")
  void httpWithAuthorization() throws Exception {
    start(AccessSettings.defaults(), Quota.NONE, "unix:" + dir.resolve("http.sock"));
    Await.result(UnaryCalls.call(grpc, api(), VmServiceGrpcClient.CreateVm, vm("seen-vm", 64), DEADLINE));
    Curl unix = curl("--unix-socket", dir.resolve("http.sock").toString(), "-H", "Host: anything.example",
        "http://x/v1/vms");
    assertThat(unix.output()).startsWith("HTTP/1.1 200").contains("seen-vm").contains("unix:root");
    Await.result(vertx.close());

    start(AccessSettings.defaults().withInsecureTcp(true), Quota.NONE, "tcp:127.0.0.1:0");
    String base = "http://" + cp.httpAddress().substring("tcp:".length());
    assertThat(curl(base + "/v1/vms").output()).startsWith("HTTP/1.1 200").contains("seen-vm");
    assertThat(curl("-H", "Host: localhost", base + "/v1/vms").output()).startsWith("HTTP/1.1 200");
    assertThat(curl("-H", "Host: evil.example", base + "/v1/vms").output()).startsWith("HTTP/1.1 421")
        .doesNotContain("seen-vm");
  }

  @Test
  @DisplayName("a caller over its memory quota gets RESOURCE_EXHAUSTED naming the quota, and nothing is stored")
  void memoryQuota() {
    start(AccessSettings.defaults(), new Quota(0, 200), "");
    Await.result(UnaryCalls.call(grpc, api(), VmServiceGrpcClient.CreateVm, vm("first", 128), DEADLINE));
    Throwable over = Await.failure(UnaryCalls.call(grpc, api(), VmServiceGrpcClient.CreateVm, vm("second", 128),
        DEADLINE));
    assertThat(over).isInstanceOfSatisfying(GrpcCallException.class, e -> {
      assertThat(e.status()).isEqualTo(GrpcStatus.RESOURCE_EXHAUSTED);
      assertThat(e.serverMessage()).contains("memory quota of 200 MiB").contains("unix:root").contains("128 MiB");
    });
    assertThat(names()).containsExactly("first");
  }

  @Test
  @DisplayName("one identity holds 100 event streams; the 101st, over gRPC or SSE, is refused; a cancelled stream"
      + " frees its place at once")
  void streamLimit() throws Exception {
    start(AccessSettings.defaults(), Quota.NONE, "unix:" + dir.resolve("http.sock"));
    List<Map.Entry<GrpcClientRequest<WatchEventsRequest, VmEvent>, GrpcClientResponse<WatchEventsRequest, VmEvent>>>
        open = new ArrayList<>();
    // one connection carries at most 100 concurrent streams (HTTP/2's usual limit): the identity's
    // streams are spread over connections, as a real client's would be
    List<GrpcClient> clients = List.of(GrpcClient.client(vertx), GrpcClient.client(vertx), GrpcClient.client(vertx));
    for (int i = 0; i < AccessSettings.DEFAULT_MAX_STREAMS; i++) {
      open.add(watch(clients.get(i % 2)));
      assertThat(refusal(open.get(i).getValue())).as("stream %d", i + 1).isNull();
    }
    GrpcClientResponse<WatchEventsRequest, VmEvent> refused = watch(clients.get(2)).getValue();
    assertThat(refusal(refused)).isEqualTo(String.valueOf(GrpcStatus.RESOURCE_EXHAUSTED.code));
    assertThat(java.net.URLDecoder.decode(refused.headers().get("grpc-message"), StandardCharsets.UTF_8))
        .contains("already holds 100 event streams").contains("uid 0");

    Curl sse = curl("--unix-socket", dir.resolve("http.sock").toString(), "http://localhost/v1/events");
    assertThat(sse.output()).startsWith("HTTP/1.1 429").contains("RESOURCE_EXHAUSTED");

    open.get(0).getKey().cancel();
    Await.atMost(Duration.ofSeconds(2)).every(Duration.ofMillis(10)).until(() -> {
      var attempt = watch(clients.get(2));
      if (refusal(attempt.getValue()) != null) {
        return false;
      }
      open.add(attempt);
      return true;
    }, "a stream opens once one was cancelled");
  }
}
