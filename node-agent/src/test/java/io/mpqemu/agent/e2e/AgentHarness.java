package io.mpqemu.agent.e2e;

import io.mpqemu.agent.AgentConfig;
import io.mpqemu.agent.NodeAgentVerticle;
import io.mpqemu.agent.events.EventHub;
import io.mpqemu.agent.process.ProcessScanner;
import io.mpqemu.agent.process.ProcessTable;
import io.mpqemu.agent.qemu.BootImage;
import io.mpqemu.grpc.UnaryCalls;
import io.mpqemu.spec.NodeLimits;
import io.mpqemu.v1.AgentConsoleLogRequest;
import io.mpqemu.v1.AgentDeleteVmRequest;
import io.mpqemu.v1.AgentGetVmRequest;
import io.mpqemu.v1.AgentStopVmRequest;
import io.mpqemu.v1.AgentVm;
import io.mpqemu.v1.GetNodeInfoRequest;
import io.mpqemu.v1.LaunchVmRequest;
import io.mpqemu.v1.ListAgentVmsRequest;
import io.mpqemu.v1.NodeAgentServiceGrpcClient;
import io.mpqemu.v1.NodeInfo;
import io.mpqemu.v1.VmEvent;
import io.mpqemu.v1.VmSpec;
import io.mpqemu.v1.WatchAgentEventsRequest;
import io.mpqemu.wire.BusAddresses;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
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
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import java.util.function.UnaryOperator;
import java.util.stream.Stream;

/**
 * A real node agent for a test: its own state and image directories, real QEMU, gRPC over its UNIX
 * socket, and every event it publishes on the event bus recorded. The agent runs in this JVM
 * ({@link #startInProcess}) or in a JVM of its own ({@link AgentJvm}) when a test must kill it.
 * Closing kills every QEMU process that names the state directory and removes the directories.
 */
final class AgentHarness implements AutoCloseable {

  static final Duration CALL_DEADLINE = Duration.ofSeconds(60);

  final Path root;
  final Path stateDir;
  final Path imageRoot;
  final Path socket;
  final List<VmEvent> busEvents = new CopyOnWriteArrayList<>();
  private final Vertx vertx;
  private final GrpcClient grpc;
  private NodeAgentVerticle verticle;
  private String deploymentId;

  AgentHarness() throws IOException {
    this(new VertxOptions());
  }

  AgentHarness(VertxOptions options) throws IOException {
    root = Files.createTempDirectory(Path.of("/tmp"), "mpqemu-test-");
    stateDir = root.resolve("state");
    imageRoot = Files.createDirectories(root.resolve("images"));
    socket = root.resolve("agent.sock");
    vertx = Vertx.builder().with(options.setPreferNativeTransport(true)).build();
    grpc = GrpcClient.client(vertx, new GrpcClientOptions().setScheduleDeadlineAutomatically(true));
    vertx.eventBus().<JsonObject>consumer(BusAddresses.VM_EVENTS, m -> busEvents.add(EventHub.fromJson(m.body())));
  }

  AgentConfig config() {
    return new AgentConfig("test-node", List.of("unix:" + socket), stateDir, imageRoot, Path.of("qemu-system-x86_64"),
        "auto", NodeLimits.defaults(), 4096, 32, Map.of("zone", "test"), Duration.ofSeconds(30), Duration.ofSeconds(5),
        1024 * 1024);
  }

  AgentHarness startInProcess() {
    return startInProcess(UnaryOperator.identity());
  }

  AgentHarness startInProcess(UnaryOperator<AgentConfig> customize) {
    verticle = new NodeAgentVerticle(customize.apply(config()));
    deploymentId = await(vertx.deployVerticle(verticle));
    return this;
  }

  void stopInProcess() {
    await(vertx.undeploy(deploymentId));
    verticle = null;
  }

  NodeAgentVerticle verticle() {
    return verticle;
  }

  Vertx vertx() {
    return vertx;
  }

  // ------------------------------------------------------------ gRPC calls

  <Req, Resp> Resp call(ServiceMethod<Resp, Req> method, Req request) {
    return await(UnaryCalls.call(grpc, address(), method, request, CALL_DEADLINE));
  }

  SocketAddress address() {
    return SocketAddress.domainSocketAddress(socket.toString());
  }

  GrpcClient grpcClient() {
    return grpc;
  }

  AgentVm launch(String vmId, VmSpec spec) {
    return call(NodeAgentServiceGrpcClient.LaunchVm, LaunchVmRequest.newBuilder().setVmId(vmId).setSpec(spec).build());
  }

  AgentVm stop(String vmId, int timeoutSeconds, boolean force) {
    return call(NodeAgentServiceGrpcClient.StopVm,
        AgentStopVmRequest.newBuilder().setVmId(vmId).setTimeoutSeconds(timeoutSeconds).setForce(force).build());
  }

  void delete(String vmId, boolean force) {
    call(NodeAgentServiceGrpcClient.DeleteVm, AgentDeleteVmRequest.newBuilder().setVmId(vmId).setForce(force).build());
  }

  AgentVm get(String vmId) {
    return call(NodeAgentServiceGrpcClient.GetVm, AgentGetVmRequest.newBuilder().setVmId(vmId).build());
  }

  List<AgentVm> list() {
    return call(NodeAgentServiceGrpcClient.ListVms, ListAgentVmsRequest.getDefaultInstance()).getVmsList();
  }

  NodeInfo nodeInfo() {
    return call(NodeAgentServiceGrpcClient.GetNodeInfo, GetNodeInfoRequest.getDefaultInstance());
  }

  String console(String vmId) {
    return call(NodeAgentServiceGrpcClient.GetConsoleLog, AgentConsoleLogRequest.newBuilder().setVmId(vmId).build())
        .getData().toStringUtf8();
  }

  /** Watches the agent's gRPC event stream; events land in the returned list. */
  List<VmEvent> watch(String vmId, boolean includeRecent) {
    List<VmEvent> seen = new CopyOnWriteArrayList<>();
    // the handler is set on the event loop as soon as the stream exists: set later from this thread,
    // it would miss what the agent sends at once (the replay)
    await(io.mpqemu.grpc.ServerStreams.open(grpc, address(), NodeAgentServiceGrpcClient.WatchEvents,
        WatchAgentEventsRequest.newBuilder().setVmId(vmId == null ? "" : vmId).setIncludeRecent(includeRecent).build(),
        stream -> stream.handler(seen::add)));
    return seen;
  }

  // ------------------------------------------------------------ waiting

  /** Waits until the console shows {@code text}. */
  /**
   * How long a boot sector may take to print: under this machine kind's nested KVM SeaBIOS alone takes
   * 3 to 7 s per boot (QEMU-FACTS.md), and longer while other tests load the two cores.
   */
  static final Duration BOOT_WITHIN = Duration.ofSeconds(30);

  String awaitConsole(String vmId, String text, Duration within) {
    long deadline = System.nanoTime() + within.toNanos();
    String last = "";
    while (System.nanoTime() < deadline) {
      last = console(vmId);
      if (last.contains(text)) {
        return last;
      }
      sleep(50);
    }
    throw new AssertionError("console of " + vmId + " did not show '" + text + "' within " + within + "; it shows: " + last);
  }

  static VmEvent awaitEvent(List<VmEvent> events, Predicate<VmEvent> match, Duration within) {
    long deadline = System.nanoTime() + within.toNanos();
    while (System.nanoTime() < deadline) {
      for (VmEvent e : events) {
        if (match.test(e)) {
          return e;
        }
      }
      sleep(20);
    }
    throw new AssertionError("no matching event within " + within + "; events: " + summary(events));
  }

  VmEvent awaitBusEvent(Predicate<VmEvent> match, Duration within) {
    return awaitEvent(busEvents, match, within);
  }

  List<VmEvent> busEventsOf(String vmId) {
    return busEvents.stream().filter(e -> e.getVmId().equals(vmId)).toList();
  }

  static List<String> summary(List<VmEvent> events) {
    return events.stream().map(e -> e.getVmSeq() + ":" + e.getType() + "/" + e.getPhase() + "/" + e.getReason()).toList();
  }

  // ------------------------------------------------------------ host state

  /** Pids of every process whose command line names a file in the state directory. */
  List<Long> qemuPids() {
    return new ProcessScanner().withArgumentStartingWith(stateDir + "/");
  }

  /** Waits until exactly these processes name the state directory (forks of a script settle). */
  void awaitQemuPids(List<Long> expected, Duration within) {
    long deadline = System.nanoTime() + within.toNanos();
    while (System.nanoTime() < deadline && !new java.util.HashSet<>(qemuPids()).equals(new java.util.HashSet<>(expected))) {
      sleep(20);
    }
    assertSamePids(qemuPids(), expected);
  }

  private static void assertSamePids(List<Long> actual, List<Long> expected) {
    if (!new java.util.HashSet<>(actual).equals(new java.util.HashSet<>(expected))) {
      throw new AssertionError("processes naming the state directory: expected " + expected + ", found " + actual);
    }
  }

  void awaitNoQemu(Duration within) {
    long deadline = System.nanoTime() + within.toNanos();
    while (System.nanoTime() < deadline && !qemuPids().isEmpty()) {
      sleep(50);
    }
    if (!qemuPids().isEmpty()) {
      throw new AssertionError("QEMU processes still running: " + qemuPids());
    }
  }

  Path vmDir(String vmId) {
    return stateDir.resolve("vms").resolve(vmId);
  }

  /** A raw boot disk under the image root; returns its path relative to the root. */
  String bootImage(String name, String message, boolean powerOff) throws IOException {
    BootImage.writeRaw(imageRoot.resolve(name), message, powerOff);
    return name;
  }

  String emptyImage(String name) throws IOException {
    Path p = imageRoot.resolve(name);
    Files.write(p, new byte[1024 * 1024]);
    return name;
  }

  // ------------------------------------------------------------ plumbing

  static <T> T await(Future<T> f) {
    try {
      return f.toCompletionStage().toCompletableFuture().get(CALL_DEADLINE.toSeconds() + 5, TimeUnit.SECONDS);
    } catch (java.util.concurrent.ExecutionException e) {
      if (e.getCause() instanceof RuntimeException re) {
        throw re;
      }
      throw new IllegalStateException(e.getCause());
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  static void sleep(long ms) {
    try {
      Thread.sleep(ms);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  @Override
  public void close() throws Exception {
    // the agent goes first (its VMs outlive it, by design), then whatever a test left running;
    // processes whose agent died are not our children: once killed they may stay zombies, which
    // ProcessTable counts as gone
    vertx.close().toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
    ProcessTable.killAndAwait(qemuPids(), Duration.ofSeconds(10));
    try (Stream<Path> walk = Files.walk(root)) {
      List<Path> all = new ArrayList<>(walk.sorted(Comparator.reverseOrder()).toList());
      for (Path p : all) {
        Files.deleteIfExists(p);
      }
    }
  }
}
