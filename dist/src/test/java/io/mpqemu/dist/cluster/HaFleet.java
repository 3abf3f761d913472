package io.mpqemu.dist.cluster;

import io.mpqemu.agent.process.ProcessScanner;
import io.mpqemu.agent.qemu.BootImage;
import io.mpqemu.fleet.ClusterTls;
import io.mpqemu.fleet.Role;
import io.mpqemu.grpc.ServerStreams;
import io.mpqemu.grpc.UnaryCalls;
import io.mpqemu.testing.Await;
import io.mpqemu.testing.ClusterCerts;
import io.mpqemu.testing.PostgresServer;
import io.mpqemu.testing.ServiceJvm;
import io.mpqemu.testing.TcpProxy;
import io.mpqemu.testing.UidRanges;
import io.mpqemu.v1.ControlPlane;
import io.mpqemu.v1.ListControlPlanesRequest;
import io.mpqemu.v1.VmEvent;
import io.mpqemu.v1.VmServiceGrpcClient;
import io.mpqemu.v1.WatchEventsRequest;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.core.net.SocketAddress;
import io.vertx.grpc.client.GrpcClient;
import io.vertx.grpc.client.GrpcClientOptions;
import io.vertx.grpc.common.ServiceMethod;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ThreadLocalRandom;

/**
 * A highly available fleet as a cluster admin runs it: control planes on hosts of their own sharing one
 * real PostgreSQL, and agents, each a JVM in a network namespace of its own, joined by the TLS membership
 * and event bus, with certificates from {@code deploy/make-certs.sh}. Each control plane reaches the
 * database through a TCP proxy of its own on this host, so a test can cut one off. The test talks to any
 * control plane as an operator would: gRPC under mutual TLS with a client certificate.
 */
final class HaFleet implements AutoCloseable {

  static final Duration READY_WITHIN = Duration.ofSeconds(90);
  static final Duration DEADLINE = Duration.ofSeconds(30);
  static final String CP_MAIN = "io.mpqemu.dist.ControlPlaneJar";
  static final String AGENT_MAIN = "io.mpqemu.agent.NodeAgentMain";

  final Path root;
  final ClusterNet net;
  final ClusterCerts pki;
  final PostgresServer postgres;
  final PostgresServer.Database database;
  final Map<String, ClusterNet.Host> hosts = new LinkedHashMap<>();
  final Map<String, ServiceJvm> controlPlanes = new LinkedHashMap<>();
  final Map<String, ServiceJvm> agents = new LinkedHashMap<>();
  final Map<String, TcpProxy> storeLinks = new LinkedHashMap<>();
  private final Map<String, String> uidRanges = new java.util.concurrent.ConcurrentHashMap<>();
  private final List<String> leaseFlags;
  private final Path password;
  private final int basePort;
  private final Vertx vertx = Vertx.vertx();
  private final GrpcClient grpc;

  /**
   * @param leaseFlags {@code --lease-length}, {@code --lease-renew-deadline} and {@code --lease-retry-period}
   *     values, or empty for the defaults
   */
  HaFleet(List<String> controlPlaneIds, List<String> nodes, List<String> leaseFlags) throws Exception {
    this.leaseFlags = leaseFlags;
    root = Files.createTempDirectory(Path.of("/tmp"), "mpqemu-ha-");
    List<String> names = new ArrayList<>(controlPlaneIds);
    names.addAll(nodes);
    net = ClusterNet.create(names);
    basePort = net.namespaces ? 27000 : 21000 + ThreadLocalRandom.current().nextInt(400) * 10;
    for (int i = 0; i < names.size(); i++) {
      hosts.put(names.get(i), net.hosts.get(i));
    }
    pki = ClusterCerts.ca(root.resolve("pki")).make("client", "admin");
    for (String cp : controlPlaneIds) {
      pki.make("control-plane", cp, "--ip", hosts.get(cp).ip());
    }
    for (String node : nodes) {
      pki.make("node-agent", node, "--ip", hosts.get(node).ip());
    }
    Files.createDirectories(root.resolve("images"));
    postgres = PostgresServer.create();
    database = postgres.createDatabase("ha");
    password = Files.writeString(root.resolve("store.pw"), database.password() + "\n");
    Files.setPosixFilePermissions(password, PosixFilePermissions.fromString("rw-------"));
    for (String cp : controlPlaneIds) {
      storeLinks.put(cp, TcpProxy.on(net.selfIp, "127.0.0.1", database.port()));
    }
    ClusterTls admin = ClusterTls.load(pki.crt("ca"), pki.crt("admin"), pki.key("admin"));
    grpc = GrpcClient.client(vertx, new GrpcClientOptions().setScheduleDeadlineAutomatically(true),
        admin.client("test client", EnumSet.of(Role.CONTROL_PLANE)));
  }

  // ------------------------------------------------------------ services

  private int port(String host, int which) {
    return basePort + 10 * new ArrayList<>(hosts.keySet()).indexOf(host) + which;
  }

  /** The control plane's public API, under mutual TLS. */
  SocketAddress api(String cp) {
    return SocketAddress.inetSocketAddress(port(cp, 3), hosts.get(cp).ip());
  }

  private Path clusterFile(String host) throws IOException {
    JsonArray members = new JsonArray();
    hosts.forEach((name, h) -> members.add(h.ip() + ":" + port(name, 1)));
    JsonObject json = new JsonObject().put("name", "ha-" + net.tag()).put("host", hosts.get(host).ip())
        .put("membershipPort", port(host, 1)).put("busPort", port(host, 2)).put("members", members)
        .put("memberTimeoutSeconds", 4).put("mergeDelaySeconds", 3)
        .put("tls", new JsonObject().put("ca", pki.crt("ca").toString()).put("cert", pki.crt(host).toString())
            .put("key", pki.key(host).toString()));
    Path file = root.resolve("cluster-" + host + ".json");
    Files.writeString(file, json.encodePrettily());
    return file;
  }

  void startControlPlane(String id) throws IOException {
    String store = "postgresql://" + net.selfIp + ":" + storeLinks.get(id).port() + "/" + database.name() + "?user="
        + database.user() + "&sslmode=disable";
    List<String> args = new ArrayList<>(List.of("serve", "--cluster", clusterFile(id).toString(), "--data-dir",
        root.resolve(id).toString(), "--listen", "tcp:" + hosts.get(id).ip() + ":" + port(id, 3), "--store", store,
        "--store-password-file", password.toString(), "--control-plane-id", id, "--not-ready-after", "2",
        "--lost-after", "5", "--reconcile-every", "2", "--http-listen", "unix:" + root.resolve(id + "-http.sock")));
    if (!leaseFlags.isEmpty()) {
      args.addAll(List.of("--lease-length", leaseFlags.get(0), "--lease-renew-deadline", leaseFlags.get(1),
          "--lease-retry-period", leaseFlags.get(2)));
    }
    controlPlanes.put(id, service(id, CP_MAIN).args(args).start("control plane ready", READY_WITHIN));
  }

  Path stateDir(String node) {
    return root.resolve("state-" + node);
  }

  void startAgent(String node) throws IOException {
    ClusterNet.Host h = hosts.get(node);
    Path config = root.resolve("agent-" + node + ".json");
    Files.writeString(config, new JsonObject().put("heartbeatMillis", 500).encode());
    agents.put(node, service(node, AGENT_MAIN).args("serve", "--config", config.toString(), "--cluster",
            clusterFile(node).toString(), "--node-id", node, "--listen", "tcp:" + h.ip() + ":" + port(node, 3),
            "--state-dir", stateDir(node).toString(), "--image-root", root.resolve("images").toString(),
            "--accelerator", "tcg", "--memory-mib", "2048",
            "--uid-range", uidRanges.computeIfAbsent(node, n -> UidRanges.next()))
        .start("agent ready", READY_WITHIN));
  }

  private ServiceJvm.Command service(String host, String mainClass) {
    return ServiceJvm.command(host, mainClass, root.resolve(host + ".log")).prefix(hosts.get(host).prefix())
        .jvm("-Xmx256m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1");
  }

  /** A boot-sector image named {@code name}.img that prints {@code text}, on the hosts' shared file system. */
  void image(String name) throws IOException {
    BootImage.writeRaw(root.resolve("images/" + name + ".img"), "Hello from " + name, false);
  }

  /** QEMU processes of {@code node}'s VMs, found through /proc like an operator's ps. */
  List<Long> qemuPids(String node) {
    return new ProcessScanner().under(stateDir(node));
  }

  // ------------------------------------------------------------ API

  <Req, Resp> Future<Resp> call(String cp, ServiceMethod<Resp, Req> method, Req request) {
    return UnaryCalls.call(grpc, api(cp), method, request, DEADLINE);
  }

  <Req, Resp> Resp callSync(String cp, ServiceMethod<Resp, Req> method, Req request) {
    return Await.result(call(cp, method, request), DEADLINE.plusSeconds(5));
  }

  /** The client, for calls the helpers above do not make (headers of one's own). */
  GrpcClient grpc() {
    return grpc;
  }

  /** The control plane that leads, as {@code via} lists them, if any. */
  Optional<ControlPlane> leader(String via) {
    return callSync(via, VmServiceGrpcClient.ListControlPlanes, ListControlPlanesRequest.getDefaultInstance())
        .getControlPlanesList().stream().filter(ControlPlane::getLeader).findFirst();
  }

  /** The event log after {@code fromSeq}, as {@code via} serves it now (stop_at_end). */
  List<VmEvent> events(String via, long fromSeq) {
    List<VmEvent> seen = new CopyOnWriteArrayList<>();
    Promise<Void> done = Promise.promise();
    ServerStreams.open(grpc, api(via), VmServiceGrpcClient.WatchEvents,
            WatchEventsRequest.newBuilder().setFromSeq(fromSeq).setStopAtEnd(true).build(), stream -> {
              stream.handler(seen::add);
              stream.exceptionHandler(done::tryFail);
              stream.endHandler(v -> done.tryComplete());
            })
        .onFailure(done::tryFail);
    Await.result(done.future(), DEADLINE);
    return new ArrayList<>(seen);
  }

  /**
   * A stop of {@code vmId} sent to {@code node}'s agent as control plane {@code cp} would have sent it in
   * {@code epoch} (its certificate, that epoch): a command held back from an old term. Answers how it failed.
   */
  Throwable heldBackStop(String cp, String node, String vmId, long epoch) throws Exception {
    Vertx own = Vertx.vertx();
    try {
      ClusterTls as = ClusterTls.load(pki.crt("ca"), pki.crt(cp), pki.key(cp));
      GrpcClient client = GrpcClient.client(own, new GrpcClientOptions(), as.client("test", EnumSet.of(Role.NODE_AGENT)));
      return Await.failure(UnaryCalls.call(client, api(node), io.mpqemu.v1.NodeAgentServiceGrpcClient.StopVm,
          io.mpqemu.v1.AgentStopVmRequest.newBuilder().setVmId(vmId).setLeaderEpoch(epoch).setForce(true).build(),
          DEADLINE));
    } finally {
      Await.result(own.close(), DEADLINE);
    }
  }

  String logs() {
    StringBuilder b = new StringBuilder();
    controlPlanes.forEach((id, jvm) -> b.append("--- ").append(id).append('\n').append(jvm.log()));
    agents.forEach((id, jvm) -> b.append("--- ").append(id).append('\n').append(jvm.log()));
    return b.toString();
  }

  @Override
  public void close() throws Exception {
    for (ServiceJvm a : agents.values()) {
      a.close();
    }
    for (ServiceJvm cp : controlPlanes.values()) {
      cp.close();
    }
    for (String node : agents.keySet()) { // VMs outlive their agents by design: the test ends them itself
      for (long pid : qemuPids(node)) {
        ProcessHandle.of(pid).ifPresent(ProcessHandle::destroyForcibly);
      }
    }
    storeLinks.values().forEach(TcpProxy::close);
    postgres.close();
    grpc.close();
    Await.result(vertx.close(), DEADLINE);
    net.close();
    if (System.getenv("MPQEMU_TEST_KEEP") != null) {
      System.err.println("HaFleet: kept " + root);
      return;
    }
    try (var files = Files.walk(root)) {
      files.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    }
  }
}
