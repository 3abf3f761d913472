package io.mpqemu.dist.e2e;

import io.mpqemu.agent.AgentConfig;
import io.mpqemu.agent.NodeAgentVerticle;
import io.mpqemu.agent.process.ProcessScanner;
import io.mpqemu.agent.process.ProcessTable;
import io.mpqemu.agent.qemu.BootImage;
import io.mpqemu.controlplane.ControlPlaneConfig;
import io.mpqemu.controlplane.ControlPlaneVerticle;
import io.mpqemu.grpc.UnaryCalls;
import io.mpqemu.spec.NodeLimits;
import io.mpqemu.v1.CreateVmRequest;
import io.mpqemu.v1.DesiredState;
import io.mpqemu.v1.Disk;
import io.mpqemu.v1.GetVmRequest;
import io.mpqemu.v1.Phase;
import io.mpqemu.v1.ProxiedDevice;
import io.mpqemu.v1.Vm;
import io.mpqemu.v1.VmEvent;
import io.mpqemu.v1.VmRef;
import io.mpqemu.v1.VmServiceGrpcClient;
import io.mpqemu.v1.VmSpec;
import io.mpqemu.v1.WatchEventsRequest;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
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
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import java.util.stream.Stream;

/**
 * A control plane and node agents in one Vert.x (the embedded mode's shape: local event bus, agents'
 * gRPC on UNIX sockets), real QEMU, real SQLite, for a test. Closing stops everything and kills every
 * QEMU process that names a directory of the fleet.
 */
final class Fleet implements AutoCloseable {

  static final Duration DEADLINE = Duration.ofSeconds(60);

  final Path root;
  final Path images;
  final Path cpSocket;
  private final Vertx vertx;
  private final GrpcClient grpc;
  private final Map<String, String> agentDeployments = new LinkedHashMap<>();
  private String cpDeployment;

  Fleet() throws IOException {
    root = Files.createTempDirectory(Path.of("/tmp"), "mpqemu-fleet-");
    images = Files.createDirectories(root.resolve("images"));
    cpSocket = root.resolve("cp.sock");
    vertx = Vertx.builder().with(new VertxOptions().setPreferNativeTransport(true)).build();
    grpc = GrpcClient.client(vertx, new GrpcClientOptions().setScheduleDeadlineAutomatically(true));
  }

  ControlPlaneConfig cpConfig() {
    return new ControlPlaneConfig(root.resolve("cp"), List.of("unix:" + cpSocket), Duration.ofSeconds(3),
        Duration.ofSeconds(6), Duration.ofSeconds(2), Duration.ofSeconds(60), Duration.ofSeconds(4), NodeLimits.defaults());
  }

  Fleet startControlPlane() {
    cpDeployment = await(vertx.deployVerticle(new ControlPlaneVerticle(cpConfig())));
    return this;
  }

  void stopControlPlane() {
    await(vertx.undeploy(cpDeployment));
    cpDeployment = null;
  }

  /** A node agent named {@code nodeId} with these labels, heartbeating every 500 ms. */
  Fleet startAgent(String nodeId, Map<String, String> labels) {
    Path dir = root.resolve("agent-" + nodeId);
    AgentConfig config = new AgentConfig(nodeId, List.of("unix:" + dir.resolve("agent.sock")), dir.resolve("state"),
        images, Path.of("qemu-system-x86_64"), "tcg", NodeLimits.defaults(), 4096, 16, labels, Duration.ofSeconds(30),
        Duration.ofSeconds(5), 1024 * 1024, "", Duration.ofMillis(500));
    agentDeployments.put(nodeId, await(vertx.deployVerticle(new NodeAgentVerticle(config))));
    return this;
  }

  void stopAgent(String nodeId) {
    await(vertx.undeploy(agentDeployments.remove(nodeId)));
  }

  Path agentSocket(String nodeId) {
    return root.resolve("agent-" + nodeId).resolve("agent.sock");
  }

  // ------------------------------------------------------------ calls

  <Req, Resp> Resp call(ServiceMethod<Resp, Req> method, Req request) {
    return await(UnaryCalls.call(grpc, SocketAddress.domainSocketAddress(cpSocket.toString()), method, request, DEADLINE));
  }

  <Req, Resp> Resp callAgent(String nodeId, ServiceMethod<Resp, Req> method, Req request) {
    return await(UnaryCalls.call(grpc, SocketAddress.domainSocketAddress(agentSocket(nodeId).toString()), method,
        request, DEADLINE));
  }

  GrpcClient grpcClient() {
    return grpc;
  }

  SocketAddress address() {
    return SocketAddress.domainSocketAddress(cpSocket.toString());
  }

  Vm create(VmSpec spec, DesiredState desired) {
    return call(VmServiceGrpcClient.CreateVm, CreateVmRequest.newBuilder().setSpec(spec).setDesiredState(desired).build());
  }

  Vm get(String id) {
    return call(VmServiceGrpcClient.GetVm, GetVmRequest.newBuilder().setVm(VmRef.newBuilder().setId(id)).build());
  }

  static VmRef ref(String id) {
    return VmRef.newBuilder().setId(id).build();
  }

  /** WatchEvents from a seq; events land in the returned list as they arrive. */
  List<VmEvent> watch(long fromSeq, String vmId) {
    List<VmEvent> seen = new CopyOnWriteArrayList<>();
    await(io.mpqemu.grpc.ServerStreams.open(grpc, address(), VmServiceGrpcClient.WatchEvents,
        WatchEventsRequest.newBuilder().setFromSeq(fromSeq).setVmId(vmId == null ? "" : vmId).build(), stream -> {
          // a stream that ends or breaks says so in the failure message of awaitEvent
          stream.exceptionHandler(e -> streamEnds.put(seen, "broke: " + e));
          stream.endHandler(v -> streamEnds.put(seen, "ended with " + stream.status() + " " + stream.statusMessage()));
          stream.handler(seen::add);
        }));
    return seen;
  }

  // ------------------------------------------------------------ waiting

  Vm awaitPhase(String id, Phase phase, Duration within) {
    long deadline = System.nanoTime() + within.toNanos();
    Vm vm = get(id);
    while (vm.getStatus().getPhase() != phase && System.nanoTime() < deadline) {
      sleep(50);
      vm = get(id);
    }
    if (vm.getStatus().getPhase() != phase) {
      throw new AssertionError("VM " + id + " did not reach " + phase + " within " + within + "; it is " + vm.getStatus());
    }
    return vm;
  }

  /** How each watch() stream ended, if it did. */
  static final java.util.Map<List<VmEvent>, String> streamEnds = java.util.Collections.synchronizedMap(new java.util.IdentityHashMap<>());

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
    throw new AssertionError("no matching event within " + within + "; events: " + summary(events) + "; the stream "
        + streamEnds.getOrDefault(events, "is still open"));
  }

  static List<String> summary(List<VmEvent> events) {
    return events.stream().map(e -> e.getSeq() + ":" + e.getType() + "/" + e.getPhase() + "/" + e.getReason()).toList();
  }

  // ------------------------------------------------------------ fixtures

  String bootImage(String name, String message) throws IOException {
    BootImage.writeRaw(images.resolve(name), message, false);
    return name;
  }

  static VmSpec lsi(String name, String image) {
    return VmSpec.newBuilder().setName(name).setMemoryMib(64)
        .addDevices(ProxiedDevice.newBuilder().setId("lsi0").setDriver("lsi53c895a")
            .addDisks(Disk.newBuilder().setId("boot").setImage(image)))
        .build();
  }

  List<Long> qemuPids() {
    return new ProcessScanner().withArgumentStartingWith(root + "/");
  }

  // ------------------------------------------------------------ plumbing

  static <T> T await(Future<T> f) {
    try {
      return f.toCompletionStage().toCompletableFuture().get(DEADLINE.toSeconds() + 5, TimeUnit.SECONDS);
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
