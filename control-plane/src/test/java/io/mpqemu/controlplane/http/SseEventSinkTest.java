package io.mpqemu.controlplane.http;

import static org.assertj.core.api.Assertions.assertThat;

import io.mpqemu.testing.Await;
import io.mpqemu.v1.EventType;
import io.mpqemu.v1.VmEvent;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

class SseEventSinkTest {

  private final Vertx vertx = Vertx.vertx();

  @AfterEach
  void close() throws Exception {
    Await.result(vertx.close());
  }

  @Test
  @DisplayName("a subscriber cut off gets the events already sent, then an overflow message naming the last seq, then the end")
  void overflowEndsTheStream() throws Exception {
    HttpServer server = vertx.createHttpServer().requestHandler(req -> {
      req.response().setChunked(true).putHeader("content-type", "text/event-stream");
      SseEventSink sink = new SseEventSink(req.response(), Vertx.currentContext(), Vertx.currentContext());
      sink.write(VmEvent.newBuilder().setSeq(7).setVmId("a").setType(EventType.ACCEPTED).setMessage("two\nlines").build());
      sink.overflow(7);
    });
    int port = Await.result(server.listen(0, "127.0.0.1")).actualPort();

    // Vert.x 5 closes a client that is garbage collected: the chain holds it until the answer
    var client = vertx.createHttpClient();
    String body = Await.result(client.request(HttpMethod.GET, port, "127.0.0.1", "/")
        .compose(r -> r.send()).compose(r -> r.body()).map(Object::toString).eventually(client::close));

    assertThat(body).isEqualTo("id: 7\nevent: ACCEPTED\ndata: {\"seq\":\"7\",\"vmId\":\"a\",\"type\":\"ACCEPTED\","
        + "\"message\":\"two\\nlines\"}\n\n"
        + "event: overflow\ndata: {\"lastSeq\":7,\"message\":\"this subscriber fell too far behind and was cut off; the"
        + " last event it was sent is seq 7; reconnect with Last-Event-ID: 7\"}\n\n");
  }
}
