package io.mpqemu.controlplane.http;

import io.mpqemu.testing.Await;
import io.vertx.core.Future;
import io.vertx.core.MultiMap;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientResponse;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.json.JsonObject;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/** GETs and Server-Sent Events read with the core HTTP client, for tests; calls block the test thread. */
final class HttpClientSupport {

  record Answer(int status, String contentType, String body) {
    JsonObject json() {
      return new JsonObject(body);
    }

    Double sample(String nameAndLabels) {
      for (String line : body.split("\n")) {
        if (line.startsWith(nameAndLabels + " ")) {
          return Double.parseDouble(line.substring(nameAndLabels.length() + 1));
        }
      }
      return null;
    }
  }

  /** One SSE message; {@code id} is null when the message had none. */
  record Message(String id, String event, String data) {}

  /** An open event stream: messages arrive in {@link #messages} as they are parsed. */
  static final class EventStream {
    final List<Message> messages = new CopyOnWriteArrayList<>();
    final HttpClientResponse response;
    private final StringBuilder pending = new StringBuilder();

    EventStream(HttpClientResponse response) {
      this.response = response;
      response.handler(this::onData);
    }

    private synchronized void onData(Buffer b) {
      pending.append(b.toString());
      int end;
      while ((end = pending.indexOf("\n\n")) >= 0) {
        String block = pending.substring(0, end);
        pending.delete(0, end + 2);
        String id = null;
        String event = "message";
        StringBuilder data = new StringBuilder();
        boolean any = false;
        for (String line : block.split("\n")) {
          if (line.startsWith(":")) {
            continue;
          }
          any = true;
          if (line.startsWith("id: ")) {
            id = line.substring(4);
          } else if (line.startsWith("event: ")) {
            event = line.substring(7);
          } else if (line.startsWith("data: ")) {
            data.append(line.substring(6));
          }
        }
        if (any) {
          messages.add(new Message(id, event, data.toString()));
        }
      }
    }

    void close() {
      response.request().connection().close();
    }
  }

  private HttpClientSupport() {}

  /**
   * Plain GETs go through the JDK's client: the Vert.x 5.0.7 client sharing the server's event loops
   * was seen, once in many runs and only under load, never to finish reading an answer the server had
   * sent. The event streams below still use the Vert.x client.
   */
  private static final java.net.http.HttpClient JDK = java.net.http.HttpClient.newBuilder()
      .connectTimeout(java.time.Duration.ofSeconds(10)).build();

  static Answer get(HttpClient client, int port, String uri) throws Exception {
    return get(port, uri, java.util.Map.of());
  }

  static Answer get(int port, String uri, java.util.Map<String, String> headers) throws Exception {
    java.net.http.HttpRequest.Builder request = java.net.http.HttpRequest.newBuilder(
        java.net.URI.create("http://127.0.0.1:" + port + uri)).timeout(java.time.Duration.ofSeconds(30)).GET();
    headers.forEach(request::header);
    java.net.http.HttpResponse<String> resp = JDK.send(request.build(), java.net.http.HttpResponse.BodyHandlers.ofString());
    return new Answer(resp.statusCode(), resp.headers().firstValue("content-type").orElse(null), resp.body());
  }

  static EventStream events(HttpClient client, int port, String uri, MultiMap headers) throws Exception {
    // the handler is set as the response arrives, on its loop, or the first messages could be missed
    return Await.result(client.request(options(port, uri, headers)).compose(r -> r.send()).map(resp -> {
      if (resp.statusCode() != 200) {
        throw new AssertionError("the event stream answered " + resp.statusCode());
      }
      return new EventStream(resp);
    }));
  }

  private static RequestOptions options(int port, String uri, MultiMap headers) {
    RequestOptions o = new RequestOptions().setMethod(HttpMethod.GET).setHost("127.0.0.1").setPort(port).setURI(uri);
    if (headers != null) {
      o.setHeaders(headers);
    }
    return o;
  }

  /** Kept for ControlPlaneHttpTest, which calls it (that file is being rewritten on another branch). */
  static <T> T await(Future<T> f) {
    return Await.result(f);
  }
}
