package io.mpqemu.dist.e2e;

import io.mpqemu.agent.AgentConfig;
import io.mpqemu.agent.NodeAgentVerticle;
import io.mpqemu.agent.confine.ConfinementSettings;
import io.mpqemu.agent.confine.UidRange;
import io.mpqemu.agent.e2e.AgentHarness;
import io.mpqemu.agent.process.ProcessScanner;
import io.mpqemu.agent.qemu.BootImage;
import io.mpqemu.controlplane.ControlPlaneConfig;
import io.mpqemu.controlplane.ControlPlaneVerticle;
import io.mpqemu.controlplane.store.StoreTarget;
import io.mpqemu.grpc.ServerStreams;
import io.mpqemu.spec.NodeLimits;
import io.mpqemu.testing.Await;
import io.mpqemu.testing.UidRanges;
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
import io.vertx.core.net.SocketAddress;
import io.vertx.grpc.client.GrpcClient;
import io.vertx.grpc.common.ServiceMethod;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Predicate;
import java.util.function.UnaryOperator;

/**
 * A control plane and node agents in one Vert.x (the embedded mode's shape: local event bus, agents'
 * gRPC on UNIX sockets), real QEMU, real SQLite, for a test. Built on the node agent's
 * {@link AgentHarness}: its temporary root, Vert.x, gRPC client and clean-up (closing stops everything
 * and kills every QEMU process that names a file under the root).
 */
final class Fleet implements AutoCloseable {

  static final Duration DEADLINE = AgentHarness.CALL_DEADLINE;
  /** How each watch() stream ended, if it did. */
  private static final Map<List<VmEvent>, String> STREAM_ENDS = Collections.synchronizedMap(new IdentityHashMap<>());

  /** Each node's uid range: an agent keeps its range across restarts, or it could not adopt its VMs. */
  private final Map<String, String> uidRanges = new java.util.concurrent.ConcurrentHashMap<>();

  final Path root;
  final Path images;
  final Path cpSocket;
  private final AgentHarness host;
  private final Map<String, String> agentDeployments = new LinkedHashMap<>();
  private String cpDeployment;
  private StoreTarget store;

  Fleet() throws IOException {
    host = new AgentHarness();
    root = host.root;
    images = host.imageRoot;
    cpSocket = root.resolve("cp.sock");
  }

  /** The control plane keeps its state in {@code target} (null: SQLite in its data directory). */
  Fleet onStore(StoreTarget target) {
    this.store = target;
    return this;
  }

  ControlPlaneConfig cpConfig() {
    ControlPlaneConfig config = new ControlPlaneConfig(root.resolve("cp"), List.of("unix:" + cpSocket), Duration.ofSeconds(3),
        Duration.ofSeconds(6), Duration.ofSeconds(2), Duration.ofSeconds(60), Duration.ofSeconds(4), NodeLimits.defaults());
    return store == null ? config : config.withStore(store);
  }

  Fleet startControlPlane() {
    cpDeployment = await(host.vertx().deployVerticle(new ControlPlaneVerticle(cpConfig())));
    return this;
  }

  void stopControlPlane() {
    await(host.vertx().undeploy(cpDeployment));
    cpDeployment = null;
  }

  /** A node agent named {@code nodeId} with these labels, heartbeating every 500 ms. */
  Fleet startAgent(String nodeId, Map<String, String> labels) {
    return startAgent(nodeId, labels, UnaryOperator.identity());
  }

  /** The same, its config changed by {@code adjust} (networks, say). */
  Fleet startAgent(String nodeId, Map<String, String> labels, UnaryOperator<AgentConfig> adjust) {
    Path dir = root.resolve("agent-" + nodeId);
    AgentConfig config = new AgentConfig(nodeId, List.of("unix:" + agentSocket(nodeId)), dir.resolve("state"),
        images, Path.of("qemu-system-x86_64"), "tcg", NodeLimits.defaults(), 4096, 16, labels, Duration.ofSeconds(30),
        Duration.ofSeconds(5), 1024 * 1024, "", Duration.ofMillis(500))
        .withConfinement(ConfinementSettings.DEFAULT.withUids(UidRange.parse(
            uidRanges.computeIfAbsent(nodeId, n -> UidRanges.next())))); // the same across restarts
    agentDeployments.put(nodeId, await(host.vertx().deployVerticle(new NodeAgentVerticle(adjust.apply(config)))));
    return this;
  }

  void stopAgent(String nodeId) {
    await(host.vertx().undeploy(agentDeployments.remove(nodeId)));
  }

  Path agentSocket(String nodeId) {
    return root.resolve("agent-" + nodeId).resolve("agent.sock");
  }

  // ------------------------------------------------------------ calls

  <Req, Resp> Resp call(ServiceMethod<Resp, Req> method, Req request) {
    return host.call(address(), method, request);
  }

  <Req, Resp> Resp callAgent(String nodeId, ServiceMethod<Resp, Req> method, Req request) {
    return host.call(SocketAddress.domainSocketAddress(agentSocket(nodeId).toString()), method, request);
  }

  GrpcClient grpcClient() {
    return host.grpcClient();
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
    await(ServerStreams.open(grpcClient(), address(), VmServiceGrpcClient.WatchEvents,
        WatchEventsRequest.newBuilder().setFromSeq(fromSeq).setVmId(vmId == null ? "" : vmId).build(), stream -> {
          // a stream that ends or breaks says so in the failure message of awaitEvent
          stream.exceptionHandler(e -> STREAM_ENDS.put(seen, "broke: " + e));
          stream.endHandler(v -> STREAM_ENDS.put(seen, "ended with " + stream.status() + " " + stream.statusMessage()));
          stream.handler(seen::add);
        }));
    return seen;
  }

  /** The value of a future of this fleet's calls. */
  static <T> T await(Future<T> f) {
    return AgentHarness.result(f);
  }

  // ------------------------------------------------------------ waiting

  Vm awaitPhase(String id, Phase phase, Duration within) {
    return Await.atMost(within).every(Duration.ofMillis(50)).until(() -> get(id), vm -> vm.getStatus().getPhase() == phase,
        vm -> "VM " + id + " did not reach " + phase + "; it is " + vm.getStatus());
  }

  static VmEvent awaitEvent(List<VmEvent> events, Predicate<VmEvent> match, Duration within) {
    return Await.atMost(within).until(() -> events.stream().filter(match).findFirst().orElse(null), Objects::nonNull,
        none -> "no matching event; events: " + summary(events) + "; the stream "
            + STREAM_ENDS.getOrDefault(events, "is still open"));
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
    return new ProcessScanner().under(root);
  }

  @Override
  public void close() throws Exception {
    host.close();
  }
}
