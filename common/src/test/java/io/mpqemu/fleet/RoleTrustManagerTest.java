package io.mpqemu.fleet;

import static java.util.concurrent.TimeUnit.SECONDS;
import static org.assertj.core.api.Assertions.assertThat;

import io.mpqemu.testing.Await;
import io.mpqemu.testing.ClusterCerts;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpClientRequest;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.HttpVersion;
import java.nio.file.Path;
import java.util.EnumSet;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Real TLS on loopback between a Vert.x server and client built from {@link ClusterTls}. */
class RoleTrustManagerTest {

  @TempDir
  static Path dir;
  static ClusterCerts pki;
  static ClusterCerts otherPki;

  Vertx vertx;
  /** The first error the server reports (a refused handshake). */
  final CompletableFuture<Throwable> serverError = new CompletableFuture<>();

  @BeforeAll
  static void certificates() throws Exception {
    pki = ClusterCerts.ca(dir.resolve("cluster"))
        .make("control-plane", "cp-1", "--ip", "127.0.0.1")
        .make("control-plane", "cp-2", "--ip", "127.0.0.1")
        .make("control-plane", "cp-far", "--ip", "10.9.9.9")
        .make("node-agent", "host-a", "--ip", "127.0.0.1")
        .make("client", "alice");

    otherPki = ClusterCerts.ca(dir.resolve("other")).make("client", "mallory");
  }

  @BeforeEach
  void start() {
    vertx = Vertx.vertx();
  }

  @AfterEach
  void stop() {
    Await.result(vertx.close());
  }

  /** A server on 127.0.0.1 answering 200 "ok"; returns its port. */
  private int serve(ClusterTls tls, Set<Role> allowed) throws Exception {
    HttpServerOptions options = tls.server("test port", allowed);
    HttpServer server = vertx.createHttpServer(options)
        .exceptionHandler(serverError::complete)
        .requestHandler(req -> req.response().end("ok"));
    return Await.result(server.listen(0, "127.0.0.1")).actualPort();
  }

  /** GET / with a client of {@code options}: the status code, the protocol checked. */
  private int get(HttpClientOptions options, int port) {
    return Await.result(request(options, port));
  }

  private Future<Integer> request(HttpClientOptions options, int port) {
    var client = vertx.createHttpClient(options);
    return client.request(HttpMethod.GET, port, "127.0.0.1", "/")
        .compose(HttpClientRequest::send)
        .compose(resp -> {
          assertThat(resp.version()).isEqualTo(HttpVersion.HTTP_2);
          return resp.body().map(body -> resp.statusCode());
        })
        // Vert.x 5 closes a client that is garbage collected: hold it until the answer, then close it
        .eventually(client::close);
  }

  @Test
  @DisplayName("A server that admits clients answers a client certificate of the cluster CA")
  void clientAccepted() throws Exception {
    int port = serve(FleetCerts.tls(pki, "cp-1"), EnumSet.of(Role.CLIENT));
    assertThat(get(FleetCerts.tls(pki, "alice").client("test", EnumSet.of(Role.CONTROL_PLANE)), port)).isEqualTo(200);
  }

  @Test
  @DisplayName("A server that admits clients refuses a node agent's certificate, and says why")
  void agentRefused() throws Exception {
    int port = serve(FleetCerts.tls(pki, "cp-1"), EnumSet.of(Role.CLIENT));
    HttpClientOptions agent = FleetCerts.tls(pki, "host-a").client("test", EnumSet.of(Role.CONTROL_PLANE));
    assertThat(Await.failure(request(agent, port))).as("the request fails").isNotNull();
    assertThat(chain(serverError.get(30, SECONDS)))
        .contains("test port: refused 127.0.0.1:")
        .contains("presenting 'CN=host-a,OU=node-agent,O=mpqemu' (role node-agent): only client may connect here");
  }

  @Test
  @DisplayName("A server refuses a client certificate of another CA, even with the right role")
  void otherCaRefused() throws Exception {
    int port = serve(FleetCerts.tls(pki, "cp-1"), EnumSet.of(Role.CLIENT));
    ClusterTls mallory = ClusterTls.load(otherPki.ca(), otherPki.crt("mallory"), otherPki.key("mallory"));
    HttpClientOptions options = mallory.client("test", EnumSet.of(Role.CONTROL_PLANE))
        .setTrustOptions(FleetCerts.tls(pki, "alice").trust("test", EnumSet.of(Role.CONTROL_PLANE))); // trusts the server
    assertThat(Await.failure(request(options, port))).as("the request fails").isNotNull();
    assertThat(chain(serverError.get(30, SECONDS)))
        .contains("presenting 'CN=mallory,OU=client,O=mpqemu' (role client): not issued by this cluster's CA");
  }

  @Test
  @DisplayName("A client refuses a server whose role it does not call, and says why")
  void serverRoleRefused() throws Exception {
    int port = serve(FleetCerts.tls(pki, "cp-1"), EnumSet.of(Role.CONTROL_PLANE));
    ClusterTls cp2 = FleetCerts.tls(pki, "cp-2");
    Throwable refused = Await.failure(request(cp2.client("agent api", EnumSet.of(Role.NODE_AGENT)), port));
    assertThat(chain(refused)).contains("agent api: refused", "(role control-plane): only node-agent may serve here");
    assertThat(get(cp2.client("agent api", EnumSet.of(Role.CONTROL_PLANE)), port)).as("the same server, role allowed").isEqualTo(200);
  }

  @Test
  @DisplayName("A client accepts a server whose certificate names the address it dialled")
  void hostNameMatches() throws Exception {
    int port = serve(FleetCerts.tls(pki, "cp-1"), EnumSet.of(Role.CLIENT));
    assertThat(get(FleetCerts.tls(pki, "alice").client("public api", EnumSet.of(Role.CONTROL_PLANE)), port)).isEqualTo(200);
  }

  @Test
  @DisplayName("A client refuses a server of the right CA and role whose certificate names another address")
  void hostNameMismatch() throws Exception {
    int port = serve(FleetCerts.tls(pki, "cp-far"), EnumSet.of(Role.CLIENT));
    ClusterTls alice = FleetCerts.tls(pki, "alice");
    Throwable refused = Await.failure(request(alice.client("public api", EnumSet.of(Role.CONTROL_PLANE)), port));
    assertThat(chain(refused)).contains("public api: refused", "'CN=cp-far,OU=control-plane,O=mpqemu'",
        "not for this host name", "No subject alternative names matching IP address 127.0.0.1 found");
  }

  /** The messages of {@code e} and all its causes, one a line. */
  private static String chain(Throwable e) {
    StringBuilder b = new StringBuilder();
    for (Throwable t = e; t != null; t = t.getCause()) {
      b.append(t.getClass().getName()).append(": ").append(t.getMessage()).append('\n');
    }
    return b.toString();
  }
}
