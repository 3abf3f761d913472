package io.mpqemu.dist.cluster;

import io.mpqemu.agent.process.ProcessScanner;
import io.mpqemu.agent.qemu.BootImage;
import io.mpqemu.fleet.ClusterTls;
import io.mpqemu.fleet.Role;
import io.mpqemu.grpc.ServerStreams;
import io.mpqemu.grpc.UnaryCalls;
import io.mpqemu.testing.Await;
import io.mpqemu.testing.ClusterCerts;
import io.mpqemu.testing.ServiceJvm;
import io.mpqemu.testing.UidRanges;
import io.mpqemu.v1.GetVmRequest;
import io.mpqemu.v1.Vm;
import io.mpqemu.v1.VmEvent;
import io.mpqemu.v1.VmRef;
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
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.Predicate;

/**
 * A control plane and two agents (or as many as a test names), each a JVM of its own in a network namespace of its own, joined
 * by the TLS membership (JGroups) and the TLS event bus, with certificates from {@code deploy/make-certs.sh}.
 * The test talks to the control plane as an operator would: gRPC under mutual TLS with a client
 * certificate.
 */
final class ThreeHosts implements AutoCloseable {

  static final Duration DEADLINE = Duration.ofSeconds(60);
  static final long NOT_READY_AFTER_S = 2;
  static final long LOST_AFTER_S = 5;
  static final String CP_MAIN = "io.mpqemu.dist.ControlPlaneJar";
  static final String AGENT_MAIN = "io.mpqemu.agent.NodeAgentMain";
  static final Duration SERVICE_READY_WITHIN = Duration.ofSeconds(90);

  /** Each node's uid range: an agent keeps its range across restarts, or it could not adopt its VMs. */
  private final Map<String, String> uidRanges = new java.util.concurrent.ConcurrentHashMap<>();

  final Path root;
  final ClusterNet net;
  final ClusterCerts pki;
  final ClusterCerts foreign;
  final ClusterNet.Host cpHost;
  final Map<String, ClusterNet.Host> agentHosts = new LinkedHashMap<>();
  final Map<String, ServiceJvm> agents = new LinkedHashMap<>();
  ServiceJvm controlPlane;
  final int basePort;
  private final boolean selfMember;
  private final Vertx vertx;
  private final GrpcClient grpc;

  ThreeHosts() throws Exception {
    this(false);
  }

  /**
   * With {@code selfMember}, this JVM may join the cluster too, as a node agent named "bench" at
   * {@link ClusterNet#selfIp} ({@link #selfClusterFile()}).
   */
  ThreeHosts(boolean selfMember) throws Exception {
    this(selfMember, List.of("agent-a", "agent-b"));
  }

  /** The control plane and an agent on a host of its own for each of {@code agentNames}. */
  ThreeHosts(boolean selfMember, List<String> agentNames) throws Exception {
    this.selfMember = selfMember;
    root = Files.createTempDirectory(Path.of("/tmp"), "mpqemu-cluster-");
    List<String> hostNames = new ArrayList<>(List.of("cp"));
    hostNames.addAll(agentNames);
    net = ClusterNet.create(hostNames);
    basePort = net.namespaces ? 27000 : 21000 + ThreadLocalRandom.current().nextInt(400) * 10;
    cpHost = net.hosts.get(0);
    pki = ClusterCerts.ca(root.resolve("pki")).make("control-plane", "cp", "--ip", cpHost.ip());
    for (int i = 0; i < agentNames.size(); i++) {
      agentHosts.put(agentNames.get(i), net.hosts.get(i + 1));
      pki.make("node-agent", agentNames.get(i), "--ip", net.hosts.get(i + 1).ip());
    }
    pki.make("client", "admin");
    if (selfMember) {
      pki.make("node-agent", "bench", "--ip", net.selfIp);
    }
    foreign = ClusterCerts.ca(root.resolve("foreign"))
        .make("control-plane", "cp", "--ip", cpHost.ip())
        .make("client", "admin");
    selfSigned(foreign, "intruder", "control-plane");
    Files.createDirectories(root.resolve("images"));
    for (String vm : List.of("web-1", "web-2")) { // one image each: the hosts share this file system
      BootImage.writeRaw(root.resolve("images/" + vm + ".img"), "Hello from " + vm, false);
    }
    vertx = Vertx.vertx();
    ClusterTls admin = ClusterTls.load(pki.crt("ca"), pki.crt("admin"), pki.key("admin"));
    grpc = GrpcClient.client(vertx, new GrpcClientOptions().setScheduleDeadlineAutomatically(true),
        admin.client("test client", EnumSet.of(Role.CONTROL_PLANE)));
  }

  /** A self-signed certificate that claims {@code role}, next to {@code certs}: signed by nobody the cluster knows. */
  private static void selfSigned(ClusterCerts certs, String name, String role) throws IOException {
    ClusterCerts.run(List.of("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
        "-keyout", certs.key(name).toString(), "-out", certs.crt(name).toString(), "-days", "2",
        "-subj", "/O=mpqemu/OU=" + role + "/CN=" + name, "-addext", "subjectAltName=URI:urn:mpqemu:role:" + role));
  }

  // ------------------------------------------------------------ ports

  int index(ClusterNet.Host h) {
    return net.hosts.indexOf(h);
  }

  int membershipPort(ClusterNet.Host h) {
    return basePort + 10 * index(h) + 1;
  }

  int busPort(ClusterNet.Host h) {
    return basePort + 10 * index(h) + 2;
  }

  int grpcPort(ClusterNet.Host h) {
    return basePort + 10 * index(h) + 3;
  }

  String cpAddress() {
    return "tcp:" + cpHost.ip() + ":" + grpcPort(cpHost);
  }

  // ------------------------------------------------------------ services

  private Path clusterFile(ClusterNet.Host h, String certName) throws IOException {
    JsonArray members = new JsonArray();
    for (ClusterNet.Host m : net.hosts) {
      members.add(m.ip() + ":" + membershipPort(m));
    }
    if (selfMember) {
      members.add(net.selfIp + ":" + (basePort + 91));
    }
    boolean self = h == null;
    JsonObject json = new JsonObject().put("name", "test-" + net.tag()).put("host", self ? net.selfIp : h.ip())
        .put("membershipPort", self ? basePort + 91 : membershipPort(h))
        .put("busPort", self ? basePort + 92 : busPort(h))
        .put("members", members)
        .put("memberTimeoutSeconds", 4).put("mergeDelaySeconds", 3)
        .put("tls", new JsonObject().put("ca", pki.crt("ca").toString()).put("cert", pki.crt(certName).toString())
            .put("key", pki.key(certName).toString()));
    Path file = root.resolve("cluster-" + (self ? "self" : h.name() + "-" + certName) + ".json");
    Files.writeString(file, json.encodePrettily());
    return file;
  }

  /** The cluster file for this JVM as the member "bench" (needs {@code selfMember}). */
  Path selfClusterFile() throws IOException {
    return selfClusterFile("bench");
  }

  /** The cluster file for this JVM as a member with {@code certName}'s certificate, made for {@link ClusterNet#selfIp}. */
  Path selfClusterFile(String certName) throws IOException {
    return clusterFile(null, certName);
  }

  /** The control plane's UNIX socket: plaintext, for a client on this machine. */
  Path cpSocket() {
    return root.resolve("cp.sock");
  }

  /** The control plane's HTTP endpoints (/metrics), on a UNIX socket. */
  Path cpHttpSocket() {
    return root.resolve("cp-http.sock");
  }

  void startControlPlane() throws IOException {
    controlPlane = service(cpHost, "control plane", root.resolve("control-plane.log"), CP_MAIN)
        .args("serve", "--cluster", clusterFile(cpHost, "cp").toString(), "--data-dir", root.resolve("cp").toString(),
            "--listen", cpAddress(), "--listen", "unix:" + cpSocket(), "--not-ready-after", Long.toString(NOT_READY_AFTER_S),
            "--lost-after", Long.toString(LOST_AFTER_S), "--reconcile-every", "2", "--http-listen", "unix:" + cpHttpSocket())
        .start("control plane ready", SERVICE_READY_WITHIN);
  }

  Path stateDir(String node) {
    return root.resolve("state-" + node);
  }

  void startAgent(String node) throws IOException {
    ClusterNet.Host h = agentHosts.get(node);
    Path config = root.resolve("agent-" + node + ".json");
    Files.writeString(config, new JsonObject().put("heartbeatMillis", 500).encode());
    agents.put(node, service(h, node, root.resolve(node + ".log"), AGENT_MAIN)
        .args("serve", "--config", config.toString(), "--cluster", clusterFile(h, node).toString(), "--node-id", node,
            "--listen", "tcp:" + h.ip() + ":" + grpcPort(h), "--state-dir", stateDir(node).toString(),
            "--image-root", root.resolve("images").toString(), "--accelerator", "tcg", "--memory-mib", "1024",
            "--uid-range", uidRanges.computeIfAbsent(node, n -> UidRanges.next())) // the same across restarts
        .start("agent ready", SERVICE_READY_WITHIN));
  }

  /** A service JVM inside {@code host}'s namespace, as systemd would run it; a restart appends to {@code log}. */
  private static ServiceJvm.Command service(ClusterNet.Host host, String name, Path log, String mainClass) {
    return ServiceJvm.command(name, mainClass, log).prefix(host.prefix())
        .jvm("-Xmx256m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1");
  }

  /** QEMU processes of {@code node}'s VMs, found through /proc like an operator's ps. */
  List<Long> qemuPids(String node) {
    return new ProcessScanner().under(stateDir(node));
  }

  // ------------------------------------------------------------ API

  <Req, Resp> Resp call(ServiceMethod<Resp, Req> method, Req request) {
    return await(UnaryCalls.call(grpc, address(), method, request, DEADLINE));
  }

  GrpcClient grpcClient() {
    return grpc;
  }

  SocketAddress address() {
    return SocketAddress.inetSocketAddress(grpcPort(cpHost), cpHost.ip());
  }

  Vm get(String id) {
    return call(VmServiceGrpcClient.GetVm, GetVmRequest.newBuilder().setVm(VmRef.newBuilder().setId(id)).build());
  }

  /** The whole event log now (stop_at_end). */
  List<VmEvent> events() {
    return events(0);
  }

  /** The seq of the last event in the log now. */
  long lastSeq() {
    List<VmEvent> all = events();
    return all.isEmpty() ? 0 : all.get(all.size() - 1).getSeq();
  }

  /** The event log after {@code fromSeq}, as it is now (stop_at_end). */
  List<VmEvent> events(long fromSeq) {
    List<VmEvent> seen = new CopyOnWriteArrayList<>();
    Promise<Void> done = Promise.promise();
    ServerStreams.open(grpc, address(), VmServiceGrpcClient.WatchEvents,
            WatchEventsRequest.newBuilder().setFromSeq(fromSeq).setStopAtEnd(true).build(), stream -> {
              stream.handler(seen::add);
              stream.exceptionHandler(done::tryFail);
              stream.endHandler(v -> done.tryComplete());
            })
        .onFailure(done::tryFail);
    await(done.future());
    return new ArrayList<>(seen);
  }

  /** The first event after {@code afterSeq} that matches, waiting up to {@code within}. */
  VmEvent awaitEvent(long afterSeq, Predicate<VmEvent> match, Duration within, String what) {
    List<VmEvent> all = Await.atMost(within).every(Duration.ofMillis(200)).until(() -> events(afterSeq),
        log -> log.stream().anyMatch(match), log -> "no event " + what + " after seq " + afterSeq + "; the log after it: "
            + log.stream().map(e -> e.getSeq() + ":" + e.getNode() + ":" + e.getType() + "/" + e.getPhase()).toList());
    return all.stream().filter(match).findFirst().orElseThrow();
  }

  Vm awaitVm(String id, Predicate<Vm> match, Duration within, String what) {
    return Await.atMost(within).every(Duration.ofMillis(100)).until(() -> get(id), match,
        vm -> "VM " + id + " is not " + what + "; it is " + vm.getStatus());
  }

  static <T> T await(Future<T> f) {
    return Await.result(f, DEADLINE.plusSeconds(5));
  }

  String logs() throws IOException {
    StringBuilder b = new StringBuilder("--- control plane\n").append(controlPlane == null ? "" : controlPlane.log());
    for (var e : agents.entrySet()) {
      b.append("--- ").append(e.getKey()).append('\n').append(e.getValue().log());
    }
    return b.toString();
  }

  @Override
  public void close() throws Exception {
    for (ServiceJvm a : agents.values()) {
      a.close();
    }
    if (controlPlane != null) {
      controlPlane.close();
    }
    // VMs outlive their agents by design: the test ends them itself
    for (String node : agentHosts.keySet()) {
      for (long pid : qemuPids(node)) {
        ProcessHandle.of(pid).ifPresent(ProcessHandle::destroyForcibly);
      }
    }
    grpc.close();
    await(vertx.close());
    net.close();
    if (System.getenv("MPQEMU_TEST_KEEP") != null) {
      System.err.println("ThreeHosts: kept " + root);
      return;
    }
    try (var files = Files.walk(root)) {
      files.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    }
  }
}
