package io.mpqemu.grpc;

import static org.assertj.core.api.Assertions.assertThat;

import io.mpqemu.v1.VmEvent;
import io.mpqemu.v1.VmServiceGrpcClient;
import io.mpqemu.v1.VmServiceGrpcService;
import io.mpqemu.v1.WatchEventsRequest;
import io.mpqemu.testing.Await;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import io.vertx.core.net.SocketAddress;
import io.vertx.grpc.client.GrpcClient;
import io.vertx.grpc.server.GrpcServer;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.RepeatedTest;

/**
 * A server that answers with its head and messages at once (a replay), and a caller whose thread is
 * slow to come back: every message still reaches the handlers set in {@code setup}.
 */
class ServerStreamsTest {

  private Vertx vertx;
  private int port;

  @BeforeEach
  void start() throws Exception {
    vertx = Vertx.vertx();
    GrpcServer grpc = GrpcServer.server(vertx);
    grpc.callHandler(VmServiceGrpcService.WatchEvents, call -> call.handler(req -> {
      var response = call.response();
      response.writeHead();
      for (long seq = 1; seq <= 3; seq++) {
        response.write(VmEvent.newBuilder().setSeq(seq).build());
      }
      response.end();
    }));
    HttpServer http = vertx.createHttpServer().requestHandler(grpc);
    port = Await.result(http.listen(0, "127.0.0.1")).actualPort();
  }

  @AfterEach
  void stop() throws Exception {
    Await.result(vertx.close());
  }

  @RepeatedTest(5)
  @DisplayName("messages sent right behind the head reach the handlers set in setup, however late the caller's thread is")
  void noMessageLost() throws Exception {
    GrpcClient client = GrpcClient.client(vertx);
    List<Long> seen = new CopyOnWriteArrayList<>();
    CountDownLatch ended = new CountDownLatch(1);
    Future<?> opened = ServerStreams.open(client, SocketAddress.inetSocketAddress(port, "127.0.0.1"),
        VmServiceGrpcClient.WatchEvents, WatchEventsRequest.getDefaultInstance(), stream -> {
          stream.handler(e -> seen.add(e.getSeq()));
          stream.endHandler(v -> ended.countDown());
        });
    Thread.sleep(300); // the caller's thread is descheduled: the whole answer has arrived meanwhile
    Await.result(opened);
    assertThat(ended.await(10, TimeUnit.SECONDS)).isTrue();
    assertThat(seen).containsExactly(1L, 2L, 3L);
    Await.result(client.close()); // and held until here: Vert.x 5 closes a client that is garbage collected
  }

}
