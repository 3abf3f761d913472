package io.mpqemu.http;

import io.mpqemu.fleet.ClusterTls;
import io.mpqemu.fleet.Role;
import io.mpqemu.grpc.MessageLimits;
import io.vertx.core.Future;
import io.vertx.core.Handler;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.grpc.common.ServiceName;
import io.vertx.grpc.health.HealthService;
import io.vertx.grpc.reflection.ReflectionService;
import io.vertx.grpc.server.GrpcServer;
import io.vertx.grpc.server.Service;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * Every server one service runs: its gRPC API (with server reflection, v1 and v1alpha, and the standard
 * health service, so grpcurl-style tools and load balancers need no .proto files) on each configured
 * address, and optionally its HTTP endpoints. Remembers the addresses bound (with real ports) and closes all.
 */
public final class ServiceListeners {

  private final Vertx vertx;
  private final String name;
  private final List<HttpServer> servers = new ArrayList<>();
  private final List<String> grpcAddresses = new CopyOnWriteArrayList<>();
  private volatile String httpAddress = "";

  /** @param name how logs and errors name this service's listeners ("node-agent gRPC", "control-plane API") */
  public ServiceListeners(Vertx vertx, String name) {
    this.vertx = vertx;
    this.name = name;
  }

  /**
   * Serves {@code api} on each of {@code addresses} in turn. With {@code tls}, TCP addresses speak
   * mutual TLS and admit only certificates of the {@code allowed} roles; otherwise they must be loopback.
   */
  public Future<Void> serveGrpc(Service api, ServiceName serviceName, List<String> addresses, ClusterTls tls,
      Set<Role> allowed) {
    GrpcServer grpc = GrpcServer.server(vertx, MessageLimits.serverOptions());
    grpc.addService(api);
    grpc.addService(ReflectionService.v1());
    grpc.addService(new ReflectionV1alpha()); // older clients ask only for v1alpha
    grpc.addService(HealthService.create(vertx).register(serviceName, () -> Future.succeededFuture(true)));
    Future<Void> chain = Future.succeededFuture();
    for (String address : addresses) {
      chain = chain.compose(v -> HttpListener.listenGrpc(vertx, grpc, address, tls, name + " " + address, allowed,
          servers::add).map(bound -> {
            grpcAddresses.add(bound);
            return null;
          }));
    }
    return chain;
  }

  /** Serves {@code router} over HTTP on {@code address} (loopback TCP or a UNIX socket). */
  public Future<Void> serveHttp(Handler<HttpServerRequest> router, String address) {
    HttpServer server = vertx.createHttpServer();
    servers.add(server);
    server.requestHandler(router);
    return HttpListener.listen(vertx, server, address).map(bound -> {
      httpAddress = bound;
      return null;
    });
  }

  /** The gRPC addresses bound, with real ports: {@code unix:/path}, {@code tcp:host:port}. */
  public List<String> grpcAddresses() {
    return List.copyOf(grpcAddresses);
  }

  /** The HTTP address bound, with its real port; "" without HTTP. */
  public String httpAddress() {
    return httpAddress;
  }

  /** Closes every server; completes when all are closed, whatever each answered. */
  public Future<Void> close() {
    List<Future<Void>> closing = new ArrayList<>();
    servers.forEach(s -> closing.add(s.close()));
    return Future.join(closing).mapEmpty();
  }
}
