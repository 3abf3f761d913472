package io.mpqemu.agent.http;

import io.vertx.core.MultiMap;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.json.JsonObject;
import java.util.concurrent.TimeUnit;

/** One GET answered in full, for tests; blocks the test thread. */
record HttpGet(int status, String contentType, String body) {

  static HttpGet get(HttpClient client, int port, String path, MultiMap headers) throws Exception {
    RequestOptions options = new RequestOptions().setMethod(HttpMethod.GET).setHost("127.0.0.1").setPort(port)
        .setURI(path);
    if (headers != null) {
      options.setHeaders(headers);
    }
    return client.request(options)
        .compose(req -> req.send())
        .compose(resp -> resp.body().map(b -> new HttpGet(resp.statusCode(), resp.getHeader("content-type"), b.toString())))
        .toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
  }

  static HttpGet get(HttpClient client, int port, String path) throws Exception {
    return get(client, port, path, null);
  }

  JsonObject json() {
    return new JsonObject(body);
  }

  /** The value of one sample line ({@code name{labels} value}) in Prometheus text, or null. */
  Double sample(String nameAndLabels) {
    for (String line : body.split("\n")) {
      if (line.startsWith(nameAndLabels + " ")) {
        return Double.parseDouble(line.substring(nameAndLabels.length() + 1).replace("+Inf", "Infinity"));
      }
    }
    return null;
  }

  static int port(String tcpAddress) {
    return Integer.parseInt(tcpAddress.substring(tcpAddress.lastIndexOf(':') + 1));
  }
}
