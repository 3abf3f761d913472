package io.mpqemu.access;

import io.mpqemu.http.HttpErrors;
import io.vertx.core.Handler;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.net.HostAndPort;
import java.util.Locale;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * What stands in front of a service's HTTP endpoints. On TCP the {@code Host} must be one of the names
 * the server serves (so a web page that rebinds its DNS name to 127.0.0.1 gets 421 and no data); on a
 * UNIX socket, which no browser reaches, any. {@code /v1/*} needs a caller with the viewer role, as the
 * same reads over gRPC do; {@code /healthz}, {@code /readyz} and {@code /metrics} are open.
 */
public final class HttpGate implements Handler<HttpServerRequest> {

  /** Names every loopback server answers to. */
  public static final Set<String> LOOPBACK_NAMES = Set.of("localhost", "127.0.0.1", "::1");

  private final Handler<HttpServerRequest> next;
  private final AccessPolicy policy;
  private final Set<String> hosts;
  private final String service;
  private final RefusalLog refusals = new RefusalLog(java.time.Clock.systemUTC());

  /**
   * @param hosts the host names and addresses this server answers to on TCP, besides {@link #LOOPBACK_NAMES}
   *     (its listen address, configured names); compared without case and port
   */
  public HttpGate(Handler<HttpServerRequest> next, AccessPolicy policy, Set<String> hosts, String service) {
    this.next = next;
    this.policy = policy;
    this.hosts = Stream.concat(LOOPBACK_NAMES.stream(), hosts.stream()).map(HttpGate::bare)
        .collect(Collectors.toUnmodifiableSet());
    this.service = service;
  }

  @Override
  public void handle(HttpServerRequest request) {
    if (!AccessPolicy.onUnixSocket(request.connection())) {
      HostAndPort authority = request.authority();
      String host = authority == null ? null : bare(authority.host());
      if (host == null || !hosts.contains(host)) {
        request.response().setStatusCode(421).putHeader(HttpHeaders.CONTENT_TYPE, "text/plain")
            .end("421 Misdirected Request: this server does not answer for that Host\n");
        return;
      }
    }
    if (request.path().startsWith("/v1/") || request.path().equals("/v1")) {
      Caller caller = policy.callerOf(request.connection());
      if (!caller.access().includes(Access.VIEWER)) {
        refusals.refused(caller.description() + " /v1", service + ": refused " + request.method() + " /v1/... to "
            + caller.description() + ": needs the viewer role");
        HttpErrors.send(request.response(), 403, "PERMISSION_DENIED", "/v1/ needs the viewer role; "
            + caller.description() + " has none (viewer: " + policy.howToGet(Access.VIEWER, request.connection()) + ")");
        return;
      }
    }
    next.handle(request);
  }

  /** "[::1]" and "::1" alike, lower case. */
  private static String bare(String host) {
    String h = host.toLowerCase(Locale.ROOT);
    return h.startsWith("[") && h.endsWith("]") ? h.substring(1, h.length() - 1) : h;
  }
}
