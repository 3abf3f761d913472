package io.mpqemu.access;

import io.vertx.core.Handler;
import io.vertx.core.http.HttpConnection;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpVersion;
import io.vertx.core.net.impl.ConnectionBase;
import java.nio.charset.StandardCharsets;
import java.util.Collections;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.WeakHashMap;

/**
 * What stands in front of a gRPC server: only gRPC over HTTP/2 gets in (no HTTP/1.1, no h2c upgrade,
 * no gRPC-Web, so no web page can drive the API through a browser), and only a caller whose role
 * includes what the method needs. A refusal is a gRPC PERMISSION_DENIED that says which role was
 * needed and how to get it, and a log line naming the caller.
 */
public final class GrpcGate implements Handler<HttpServerRequest> {

  private static final String H2C_UPGRADE_HANDLER = "h2c"; // Vert.x's name for it in the channel pipeline

  private final Handler<HttpServerRequest> grpc;
  private final AccessPolicy policy;
  private final Map<String, Access> methods;
  private final String service;
  private final RefusalLog refusals = new RefusalLog(java.time.Clock.systemUTC());
  private final Set<HttpConnection> upgraded = Collections.newSetFromMap(Collections.synchronizedMap(new WeakHashMap<>()));

  /**
   * @param grpc the gRPC server
   * @param methods what each method needs, by path ({@code /mpqemu.v1.VmService/ListVms}); a method
   *     not in the table needs {@link Access#OPERATOR}
   * @param service how log lines name this server ("control-plane API")
   */
  public GrpcGate(Handler<HttpServerRequest> grpc, AccessPolicy policy, Map<String, Access> methods, String service) {
    this.grpc = grpc;
    this.policy = policy;
    this.methods = Map.copyOf(methods);
    this.service = service;
  }

  /**
   * For the server's connection handler: remembers connections that Vert.x upgraded from HTTP/1.1
   * (h2c), whose requests {@link #handle} then refuses like any HTTP/1.1 request. (The upgrade handler
   * cannot be taken out of the pipeline beforehand: Vert.x sets the HTTP/1.x connection up from inside it.)
   */
  public void connected(HttpConnection connection) {
    if (connection instanceof ConnectionBase base && connection.getClass().getSimpleName().startsWith("Http2")
        && base.channel().pipeline().get(H2C_UPGRADE_HANDLER) != null) {
      upgraded.add(connection);
    }
  }

  @Override
  public void handle(HttpServerRequest request) {
    if (request.version() != HttpVersion.HTTP_2 || upgraded.contains(request.connection())) {
      request.response().setStatusCode(505).putHeader(HttpHeaders.CONNECTION, "close")
          .putHeader(HttpHeaders.CONTENT_TYPE, "text/plain")
          .end("this port speaks gRPC over HTTP/2 only\n").onComplete(v -> request.connection().close());
      return;
    }
    if (!isGrpc(request.getHeader(HttpHeaders.CONTENT_TYPE))) {
      request.response().setStatusCode(415).putHeader(HttpHeaders.CONTENT_TYPE, "text/plain")
          .end("this port speaks gRPC only (content-type application/grpc); gRPC-Web is not served\n");
      return;
    }
    Caller caller = policy.callerOf(request.connection());
    Access needed = methods.getOrDefault(request.path(), Access.OPERATOR);
    if (!caller.access().includes(needed)) {
      String method = request.path().startsWith("/") ? request.path().substring(1) : request.path();
      method = method.length() > 100 ? method.substring(0, 100) + "..." : method;
      refusals.refused(caller.description() + " " + method, service + ": refused " + method + " to "
          + caller.description() + ": needs the " + needed + " role, has " + caller.access());
      refuse(request, method + " needs the " + needed + " role; " + caller.description() + " has "
          + (caller.access() == Access.NONE ? "none" : "the " + caller.access() + " role") + " (" + needed + ": "
          + policy.howToGet(needed, request.connection()) + ")");
      return;
    }
    grpc.handle(request);
  }

  private static boolean isGrpc(String contentType) {
    if (contentType == null) {
      return false;
    }
    String type = contentType.toLowerCase(Locale.ROOT);
    return type.equals("application/grpc") || type.startsWith("application/grpc+") || type.startsWith("application/grpc;");
  }

  /** A trailers-only answer: every gRPC client reads its status and message. */
  private static void refuse(HttpServerRequest request, String message) {
    request.response().putHeader(HttpHeaders.CONTENT_TYPE, "application/grpc").putHeader("grpc-status", "7")
        .putHeader("grpc-message", percentEncode(message)).end();
  }

  /** grpc-message is percent-encoded UTF-8: printable ASCII but '%' as is, everything else %XX. */
  static String percentEncode(String message) {
    StringBuilder b = new StringBuilder();
    for (byte x : message.getBytes(StandardCharsets.UTF_8)) {
      int c = x & 0xff;
      if (c >= 0x20 && c < 0x7f && c != '%') {
        b.append((char) c);
      } else {
        b.append('%').append(String.format("%02X", c));
      }
    }
    return b.toString();
  }
}
