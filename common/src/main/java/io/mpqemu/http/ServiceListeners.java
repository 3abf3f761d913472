package io.mpqemu.http;

import io.mpqemu.access.Access;
import io.mpqemu.access.AccessPolicy;
import io.mpqemu.access.GrpcGate;
import io.mpqemu.access.HttpGate;
import io.mpqemu.fleet.ClusterTls;
import io.mpqemu.fleet.Role;
import io.mpqemu.grpc.MessageLimits;
import io.mpqemu.net.Endpoint;
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
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * Every server one service runs: its gRPC API (with server reflection, v1 and v1alpha, and the standard
 * health service, so grpcurl-style tools and load balancers need no .proto files) on each configured
 * address, and optionally its HTTP endpoints, each behind its gate ({@link GrpcGate}, {@link HttpGate}).
 * Remembers the addresses bound (with real ports) and closes all.
 */
public final class ServiceListeners {

  /** Reflection and health answer any caller with a role: they tell what the API is, not what it holds. */
  private static final Map<String, Access> TOOL_METHODS = Map.of(
      "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo", Access.VIEWER,
      "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo", Access.VIEWER,
      "/grpc.health.v1.Health/Check", Access.VIEWER,
      "/grpc.health.v1.Health/Watch", Access.VIEWER);

  private final Vertx vertx;
  private final String name;
  private final AccessPolicy policy;
  private final List<HttpServer> servers = new ArrayList<>();
  private final List<String> grpcAddresses = new CopyOnWriteArrayList<>();
  private volatile String httpAddress = "";

  /** @param name how logs and errors name this service's listeners ("node-agent gRPC", "control-plane API") */
  public ServiceListeners(Vertx vertx, String name, AccessPolicy policy) {
    this.vertx = vertx;
    this.name = name;
    this.policy = policy;
  }

  public AccessPolicy policy() {
    return policy;
  }

  /**
   * Serves {@code api} on each of {@code addresses} in turn. With {@code tls}, TCP addresses speak
   * mutual TLS and admit only certificates of the {@code allowed} roles; otherwise they must be loopback
   * and the policy must trust plaintext TCP. {@code methods} says which role each method needs (by path,
   * {@code /mpqemu.v1.VmService/ListVms}); a method not in it needs operator.
   */
  public Future<Void> serveGrpc(Service api, ServiceName serviceName, List<String> addresses, ClusterTls tls,
      Set<Role> allowed, Map<String, Access> methods) {
    GrpcServer grpc = GrpcServer.server(vertx, MessageLimits.serverOptions());
    grpc.addService(api);
    grpc.addService(ReflectionService.v1());
    grpc.addService(new ReflectionV1alpha()); // older clients ask only for v1alpha
    grpc.addService(HealthService.create(vertx).register(serviceName, () -> Future.succeededFuture(true)));
    Map<String, Access> table = new HashMap<>(TOOL_METHODS);
    table.putAll(methods);
    GrpcGate gate = new GrpcGate(grpc, policy, table, name);
    Future<Void> chain = Future.succeededFuture();
    for (String address : addresses) {
      chain = chain.compose(v -> HttpListener.listenGrpc(vertx, gate, address, tls, policy.insecureTcp(),
          name + " " + address, allowed,
          servers::add).map(bound -> {
            grpcAddresses.add(bound);
            return null;
          }));
    }
    return chain;
  }

  /**
   * Serves {@code router} over HTTP on {@code address} (loopback TCP or a UNIX socket), behind an
   * {@link HttpGate} that answers to the loopback names, the listen address's host and {@code hosts}.
   */
  public Future<Void> serveHttp(Handler<HttpServerRequest> router, String address, Set<String> hosts) {
    HttpServer server = vertx.createHttpServer();
    servers.add(server);
    Set<String> names = new HashSet<>(hosts);
    if (Endpoint.valid(address) && Endpoint.parse("", address) instanceof Endpoint.Tcp tcp) {
      names.add(tcp.host());
    }
    server.requestHandler(new HttpGate(router, policy, names, name + " HTTP"));
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
