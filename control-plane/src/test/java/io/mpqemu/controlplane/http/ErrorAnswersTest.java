package io.mpqemu.controlplane.http;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import io.mpqemu.controlplane.ControlPlaneConfig;
import io.mpqemu.controlplane.ControlPlaneVerticle;
import io.mpqemu.controlplane.http.HttpClientSupport.Answer;
import io.mpqemu.errors.Echo;
import io.mpqemu.errors.InternalErrors;
import io.mpqemu.grpc.GrpcCallException;
import io.mpqemu.grpc.UnaryCalls;
import io.mpqemu.testing.Await;
import io.mpqemu.v1.CreateVmRequest;
import io.mpqemu.v1.DesiredState;
import io.mpqemu.v1.Disk;
import io.mpqemu.v1.GetVmRequest;
import io.mpqemu.v1.ListVmsRequest;
import io.mpqemu.v1.ProxiedDevice;
import io.mpqemu.v1.Vm;
import io.mpqemu.v1.VmRef;
import io.mpqemu.v1.VmServiceGrpcClient;
import io.mpqemu.v1.VmSpec;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.json.JsonObject;
import io.vertx.core.net.SocketAddress;
import io.vertx.grpc.client.GrpcClient;
import io.vertx.grpc.common.GrpcStatus;
import io.vertx.grpc.common.ServiceMethod;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;

/**
 * What callers of a real control plane (SQLite store, gRPC on a UNIX socket, HTTP on loopback) are told
 * when something fails: a store fault answers an id and nothing of the fault, which the log line with
 * that id has; input of any length is quoted cut short.
 */
class ErrorAnswersTest {

  private static final Duration DEADLINE = Duration.ofSeconds(30);

  @TempDir
  Path dir;

  private final ch.qos.logback.classic.Logger root =
      (ch.qos.logback.classic.Logger) LoggerFactory.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
  private final ListAppender<ILoggingEvent> logged = new ListAppender<>();
  private Vertx vertx;
  private GrpcClient grpc;
  private SocketAddress api;
  private Path database;
  private int httpPort;

  @BeforeEach
  void start() {
    logged.start();
    root.addAppender(logged);
    vertx = Vertx.builder().with(new VertxOptions().setPreferNativeTransport(true)).build();
    Path dataDir = dir.resolve("data");
    Path socket = dir.resolve("cp.sock");
    ControlPlaneConfig defaults = ControlPlaneConfig.defaults(dataDir);
    ControlPlaneConfig config = new ControlPlaneConfig(dataDir, List.of("unix:" + socket), defaults.notReadyAfter(),
        defaults.lostAfter(), Duration.ofHours(1), defaults.callDeadline(), defaults.restartBackoffMax(),
        defaults.limits(), "tcp:127.0.0.1:0")
        // what HTTP answers is under test here, not who may ask (HttpDoorsTest): loopback callers are trusted
        .withAccess(io.mpqemu.access.AccessSettings.defaults().withInsecureTcp(true));
    ControlPlaneVerticle cp = new ControlPlaneVerticle(config);
    Await.result(vertx.deployVerticle(cp));
    database = config.database();
    api = SocketAddress.domainSocketAddress(socket.toString());
    httpPort = Integer.parseInt(cp.httpAddress().substring(cp.httpAddress().lastIndexOf(':') + 1));
    grpc = GrpcClient.client(vertx);
  }

  @AfterEach
  void stop() {
    root.detachAppender(logged);
    Await.result(vertx.close());
  }

  // ------------------------------------------------------------------ internal errors

  @Test
  @DisplayName("CreateVm on a store whose vms table is gone answers INTERNAL with an id, no path, no SQL; the log line with the id has the detail")
  void storeFaultOverGrpc() throws Exception {
    create("before");
    breakStore("ALTER TABLE vms RENAME TO vms_gone");

    GrpcCallException refused = refusal(VmServiceGrpcClient.CreateVm, request("after"));
    assertThat(refused.status()).isEqualTo(GrpcStatus.INTERNAL);
    String id = idIn(refused.serverMessage());

    assertThat(lineWith(id).getFormattedMessage()).as("the detail is in the log").contains("no such table: vms");
    assertThat(lineWith(id).getThrowableProxy()).as("with the stack trace").isNotNull();
    // once the table is back, the VM created before is there and the refused create left nothing behind
    breakStore("ALTER TABLE vms_gone RENAME TO vms");
    assertThat(call(VmServiceGrpcClient.GetVm, GetVmRequest.newBuilder()
        .setVm(VmRef.newBuilder().setName("before")).build()).getSpec().getName()).isEqualTo("before");
    assertThat(refusal(VmServiceGrpcClient.GetVm, GetVmRequest.newBuilder()
        .setVm(VmRef.newBuilder().setName("after")).build()).status()).isEqualTo(GrpcStatus.NOT_FOUND);
  }

  @Test
  @DisplayName("/v1/events on a store whose events table is gone ends with an error event that carries an id, no path, no SQL")
  void storeFaultOverHttp() throws Exception {
    create("before");
    breakStore("ALTER TABLE events RENAME TO events_gone");

    Answer answer = HttpClientSupport.get(httpPort, "/v1/events", Map.of());
    assertThat(answer.status()).isEqualTo(200);
    String data = answer.body().lines().dropWhile(l -> !l.equals("event: error")).skip(1).findFirst().orElseThrow(
        () -> new AssertionError("no error event in:\n" + answer.body()));
    JsonObject error = new JsonObject(data.substring("data: ".length())).getJsonObject("error");
    assertThat(error.getString("code")).isEqualTo("UNAVAILABLE");
    String message = error.getString("message");
    assertThat(message).startsWith("the event log cannot be read: ");
    String id = idIn(message.substring("the event log cannot be read: ".length()));

    assertThat(lineWith(id).getFormattedMessage()).contains("no such table: events");
  }

  // ------------------------------------------------------------------ echoed input

  @Test
  @DisplayName("gRPC: a name, label selector or id of 10,000 characters is refused with a message under 400 characters")
  void longInputOverGrpc() {
    String huge = "Q".repeat(10_000);
    assertShort(refusal(VmServiceGrpcClient.CreateVm, request(huge)), GrpcStatus.INVALID_ARGUMENT,
        "name \"" + "Q".repeat(64) + "…\" is not valid");
    assertShort(refusal(VmServiceGrpcClient.ListVms, ListVmsRequest.newBuilder().setLabelSelector(huge).build()),
        GrpcStatus.INVALID_ARGUMENT, "this part is not: '" + "Q".repeat(64) + "…'");
    assertShort(refusal(VmServiceGrpcClient.GetVm, GetVmRequest.newBuilder()
        .setVm(VmRef.newBuilder().setName(huge)).build()), GrpcStatus.NOT_FOUND, "no VM named " + Echo.quote(huge));
    String hostileId = "\n\u0000".repeat(5_000);
    GrpcCallException byId = refusal(VmServiceGrpcClient.GetVm, GetVmRequest.newBuilder()
        .setVm(VmRef.newBuilder().setId(hostileId)).build());
    assertShort(byId, GrpcStatus.NOT_FOUND, "no VM with id " + Echo.quote(hostileId));
  }

  @Test
  @DisplayName("HTTP: a query value, parameter name, path or seq of 3,000 characters is refused with a message under 400 characters")
  void longInputOverHttp() throws Exception {
    String huge = "Q".repeat(3_000);
    for (String uri : List.of("/v1/vms?label_selector=" + huge, "/v1/vms?phase=" + huge, "/v1/vms?" + huge + "=1",
        "/v1/vms?page_size=" + "9".repeat(3_000), "/v1/vms/" + huge, "/v1/events?from=" + huge, "/v1/" + huge)) {
      Answer a = HttpClientSupport.get(httpPort, uri, Map.of());
      assertThat(a.status()).as(a.body()).isIn(400, 404);
      String message = a.json().getJsonObject("error").getString("message");
      assertThat(message).as(uri.substring(0, 20)).contains(Echo.CUT).hasSizeLessThan(400);
    }
  }

  // ------------------------------------------------------------------ helpers

  /** What a fault of the disk or a hand at the sqlite3 prompt would do: the store's schema changes under it. */
  private void breakStore(String sql) throws Exception {
    try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + database); Statement s = c.createStatement()) {
      s.execute("PRAGMA busy_timeout = 5000");
      s.execute(sql);
    }
  }

  /** The id of an internal-error message, after checking that the message says nothing else. */
  private String idIn(String message) {
    Matcher m = InternalErrors.MESSAGE.matcher(message);
    assertThat(m.matches()).as(message).isTrue();
    assertThat(message).doesNotContain("/", database.getFileName().toString(), "no such table", "SELECT", "INSERT")
        .doesNotContainIgnoringCase("sqlite");
    return m.group(1);
  }

  private ILoggingEvent lineWith(String id) {
    List<ILoggingEvent> lines = logged.list.stream().filter(e -> e.getFormattedMessage().contains("id=" + id)).toList();
    assertThat(lines).as("log lines with id=%s", id).hasSize(1);
    assertThat(lines.get(0).getLevel()).isEqualTo(Level.ERROR);
    return lines.get(0);
  }

  private static void assertShort(GrpcCallException e, GrpcStatus status, String says) {
    assertThat(e.status()).as(e.getMessage().substring(0, Math.min(200, e.getMessage().length()))).isEqualTo(status);
    assertThat(e.serverMessage()).contains(says).hasSizeLessThan(400).doesNotContainPattern("\\p{Cntrl}");
  }

  /** The refusal of a call that must fail. */
  private <Req, Resp> GrpcCallException refusal(ServiceMethod<Resp, Req> method, Req request) {
    Throwable failure = Await.failure(UnaryCalls.call(grpc, api, method, request, DEADLINE));
    assertThat(failure).isInstanceOf(GrpcCallException.class);
    return (GrpcCallException) failure;
  }

  private Vm create(String name) {
    return call(VmServiceGrpcClient.CreateVm, request(name));
  }

  private static CreateVmRequest request(String name) {
    return CreateVmRequest.newBuilder().setDesiredState(DesiredState.STOPPED).setSpec(VmSpec.newBuilder().setName(name)
        .setMemoryMib(64).addDevices(ProxiedDevice.newBuilder().setId("lsi0").setDriver("lsi53c895a")
            .addDisks(Disk.newBuilder().setId("boot").setImage("hello.img")))).build();
  }

  private <Req, Resp> Resp call(ServiceMethod<Resp, Req> method, Req request) {
    return Await.result(UnaryCalls.call(grpc, api, method, request, DEADLINE));
  }
}
