package io.mpqemu.controlplane.http;

import static org.assertj.core.api.Assertions.assertThat;

import io.mpqemu.controlplane.ControlPlaneConfig;
import io.mpqemu.controlplane.ControlPlaneVerticle;
import io.mpqemu.controlplane.events.Retention;
import io.mpqemu.controlplane.http.HttpClientSupport.Answer;
import io.mpqemu.grpc.GrpcCallException;
import io.mpqemu.grpc.UnaryCalls;
import io.mpqemu.testing.Await;
import io.mpqemu.v1.CreateVmRequest;
import io.mpqemu.v1.DesiredState;
import io.mpqemu.v1.Disk;
import io.mpqemu.v1.ProxiedDevice;
import io.mpqemu.v1.VmEvent;
import io.mpqemu.v1.VmServiceGrpcClient;
import io.mpqemu.v1.VmSpec;
import io.mpqemu.v1.WatchEventsRequest;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.json.JsonObject;
import io.vertx.core.net.SocketAddress;
import io.vertx.grpc.client.GrpcClient;
import io.vertx.grpc.common.GrpcStatus;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What a subscriber asking for events the log no longer keeps is told, over gRPC and SSE: a control plane
 * restarted with a retention of the last 2 events lets the older ones go at start.
 */
class RetentionAnswersTest {

  private static final Duration DEADLINE = Duration.ofSeconds(30);

  @TempDir
  Path dir;

  private Vertx vertx;
  private GrpcClient grpc;
  private SocketAddress api;
  private int httpPort;

  @AfterEach
  void stop() {
    if (vertx != null) {
      Await.result(vertx.close());
    }
  }

  @Test
  @DisplayName("WatchEvents from a seq retention removed is OUT_OF_RANGE naming the first kept seq; from 0 starts there; SSE says the same")
  void outOfRangeNamesTheFirstKeptSeq() throws Exception {
    start(Retention.DEFAULT);
    for (int i = 0; i < 5; i++) {
      Await.result(UnaryCalls.call(grpc, api, VmServiceGrpcClient.CreateVm, CreateVmRequest.newBuilder()
          .setDesiredState(DesiredState.STOPPED).setSpec(spec("vm" + i)).build(), DEADLINE));
    }
    Await.result(vertx.close());
    start(new Retention(2, Duration.ZERO)); // keeps seqs 4 and 5: the rest goes at start

    Throwable refused = Await.failure(watch(1));
    assertThat(refused).isInstanceOfSatisfying(GrpcCallException.class, e -> {
      assertThat(e.status()).isEqualTo(GrpcStatus.OUT_OF_RANGE);
      assertThat(e.serverMessage()).isEqualTo("the events asked for are no longer kept: the event log starts at seq 4"
          + " now; resume with from_seq 3 (from the oldest kept event), or 0 for the same, and read the VMs' status for"
          + " what happened before");
    });
    assertThat(Await.result(watch(0), DEADLINE)).extracting(VmEvent::getSeq).containsExactly(4L, 5L);
    assertThat(Await.result(watch(3), DEADLINE)).extracting(VmEvent::getSeq).containsExactly(4L, 5L);

    Answer sse = HttpClientSupport.get(httpPort, "/v1/events", Map.of("Last-Event-ID", "2"));
    String data = sse.body().lines().dropWhile(l -> !l.equals("event: error")).skip(1).findFirst().orElseThrow(
        () -> new AssertionError("no error event in:\n" + sse.body()));
    JsonObject error = new JsonObject(data.substring("data: ".length())).getJsonObject("error");
    assertThat(error.getString("code")).isEqualTo("OUT_OF_RANGE");
    assertThat(error.getLong("firstSeq")).isEqualTo(4L);
    assertThat(error.getString("message")).contains("resume with Last-Event-ID 3");
  }

  private void start(Retention retention) {
    vertx = Vertx.builder().with(new VertxOptions().setPreferNativeTransport(true)).build(); // peer credentials
    Path socket = dir.resolve("cp.sock");
    ControlPlaneConfig defaults = ControlPlaneConfig.defaults(dir.resolve("data"));
    ControlPlaneConfig config = new ControlPlaneConfig(defaults.dataDir(), List.of("unix:" + socket),
        defaults.notReadyAfter(), defaults.lostAfter(), defaults.reconcileInterval(), defaults.callDeadline(),
        defaults.restartBackoffMax(), defaults.limits(), "tcp:127.0.0.1:0")
        .withAccess(io.mpqemu.access.AccessSettings.defaults().withInsecureTcp(true))
        .withRetention(retention);
    ControlPlaneVerticle cp = new ControlPlaneVerticle(config);
    Await.result(vertx.deployVerticle(cp));
    api = SocketAddress.domainSocketAddress(socket.toString());
    httpPort = Integer.parseInt(cp.httpAddress().substring(cp.httpAddress().lastIndexOf(':') + 1));
    grpc = GrpcClient.client(vertx);
    Await.atMost(DEADLINE).until(() -> cp.eventLog().firstSeq() > 1 || retention.equals(Retention.DEFAULT),
        "the first prune at start");
  }

  /** A snapshot watch from {@code fromSeq}: every event it was sent, once the stream ends. */
  private io.vertx.core.Future<List<VmEvent>> watch(long fromSeq) {
    Promise<List<VmEvent>> done = Promise.promise();
    List<VmEvent> seen = new ArrayList<>();
    grpc.request(api, VmServiceGrpcClient.WatchEvents).compose(request -> {
      request.end(WatchEventsRequest.newBuilder().setFromSeq(fromSeq).setStopAtEnd(true).build());
      return request.response();
    }).onSuccess(response -> {
      response.handler(seen::add);
      response.endHandler(v -> {
        if (response.status() != null && response.status() != GrpcStatus.OK) {
          done.tryFail(new GrpcCallException(response.status(), response.statusMessage()));
        } else {
          done.tryComplete(seen);
        }
      });
      response.exceptionHandler(done::tryFail);
    }).onFailure(done::tryFail);
    return done.future();
  }

  private static VmSpec spec(String name) {
    return VmSpec.newBuilder().setName(name).setMemoryMib(64).addDevices(ProxiedDevice.newBuilder().setId("lsi0")
        .setDriver("lsi53c895a").addDisks(Disk.newBuilder().setId("boot").setImage("hello.img"))).build();
  }
}
