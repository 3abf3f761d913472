package io.mpqemu.agent.e2e;

import com.google.protobuf.ByteString;
import io.mpqemu.grpc.GrpcCallException;
import io.mpqemu.grpc.StatusMessages;
import io.mpqemu.v1.CatalogImage;
import io.mpqemu.v1.ImageUpload;
import io.mpqemu.v1.ImportImageChunk;
import java.security.MessageDigest;
import java.util.Arrays;
import java.util.HexFormat;
import io.mpqemu.agent.AgentConfig;
import io.mpqemu.agent.NodeAgentVerticle;
import io.mpqemu.agent.confine.Cgroups;
import io.mpqemu.agent.confine.ConfinementSettings;
import io.mpqemu.agent.confine.UidRange;
import io.mpqemu.agent.process.ProcessScanner;
import io.mpqemu.agent.process.ProcessTable;
import io.mpqemu.agent.qemu.BootImage;
import io.mpqemu.grpc.MessageLimits;
import io.mpqemu.grpc.ServerStreams;
import io.mpqemu.grpc.UnaryCalls;
import io.mpqemu.spec.NodeLimits;
import io.mpqemu.testing.Await;
import io.mpqemu.testing.ServiceJvm;
import io.mpqemu.testing.UidRanges;
import io.mpqemu.v1.AgentConsoleLogRequest;
import io.mpqemu.v1.AgentDeleteVmRequest;
import io.mpqemu.v1.AgentGetVmRequest;
import io.mpqemu.v1.AgentStopVmRequest;
import io.mpqemu.v1.AgentVm;
import io.mpqemu.v1.GetNodeInfoRequest;
import io.mpqemu.v1.LaunchVmRequest;
import io.mpqemu.v1.EventType;
import io.mpqemu.v1.ListAgentVmsRequest;
import io.mpqemu.v1.NodeAgentServiceGrpcClient;
import io.mpqemu.v1.NodeInfo;
import io.mpqemu.v1.VmEvent;
import io.mpqemu.v1.VmSpec;
import io.mpqemu.v1.WatchAgentEventsRequest;
import io.mpqemu.wire.BusAddresses;
import io.mpqemu.wire.EventJson;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.json.JsonObject;
import io.vertx.core.net.SocketAddress;
import io.vertx.grpc.client.GrpcClient;
import io.vertx.grpc.common.ServiceMethod;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Predicate;
import java.util.function.UnaryOperator;
import java.util.stream.Stream;

/**
 * A real node agent for a test: its own state and image directories under a temporary root, real
 * QEMU, gRPC over its UNIX socket, and every event published on its Vert.x's event bus recorded. The
 * agent runs in this JVM ({@link #startInProcess}) or in a JVM of its own ({@link #startJvm}) when a
 * test must kill it. Closing closes the Vert.x, kills every QEMU process that names a file under the
 * root and removes the root. Published in node-agent's test-jar: dist's fleet tests build on it.
 */
public final class AgentHarness implements AutoCloseable {

  public static final Duration CALL_DEADLINE = Duration.ofSeconds(60);
  /**
   * How long a boot sector may take to print: under this machine kind's nested KVM SeaBIOS alone takes
   * 3 to 7 s per boot (QEMU-FACTS.md), and longer while other tests load the two cores.
   */
  public static final Duration BOOT_WITHIN = Duration.ofSeconds(30);
  private static final Duration RESULT_WITHIN = CALL_DEADLINE.plusSeconds(5);

  public final Path root;
  public final Path stateDir;
  public final Path imageRoot;
  public final Path socket;
  private final String uidRange;
  public final List<VmEvent> busEvents = new CopyOnWriteArrayList<>();
  private final Vertx vertx;
  private final GrpcClient grpc;
  private NodeAgentVerticle verticle;
  private String deploymentId;

  /** A harness under /tmp. */
  public AgentHarness() throws IOException {
    this(Path.of("/tmp"));
  }

  /** A harness in a new directory under {@code parent} (the file system the agent's state writes sync to). */
  public AgentHarness(Path parent) throws IOException {
    root = Files.createTempDirectory(parent, "mpqemu-test-");
    stateDir = root.resolve("state");
    imageRoot = Files.createDirectories(root.resolve("images"));
    socket = root.resolve("agent.sock");
    uidRange = UidRanges.next();
    vertx = Vertx.builder().with(new VertxOptions().setPreferNativeTransport(true)).build();
    grpc = GrpcClient.client(vertx, MessageLimits.clientOptions().setScheduleDeadlineAutomatically(true));
    vertx.eventBus().<JsonObject>consumer(BusAddresses.VM_EVENTS, m -> busEvents.add(EventJson.fromJson(m.body())));
  }

  public AgentConfig config() {
    return new AgentConfig("test-node", List.of("unix:" + socket), stateDir, imageRoot, Path.of("qemu-system-x86_64"),
        "auto", NodeLimits.defaults(), 4096, 32, Map.of("zone", "test"), Duration.ofSeconds(30), Duration.ofSeconds(5),
        1024 * 1024).withConfinement(ConfinementSettings.DEFAULT.withUids(UidRange.parse(uidRange)));
  }

  /** The uids this harness's agents give their QEMU processes: the same across restarts. */
  public UidRange uidRange() {
    return UidRange.parse(uidRange);
  }

  public AgentHarness startInProcess() {
    return startInProcess(UnaryOperator.identity());
  }

  public AgentHarness startInProcess(UnaryOperator<AgentConfig> customize) {
    verticle = new NodeAgentVerticle(customize.apply(config()));
    deploymentId = result(vertx.deployVerticle(verticle));
    return this;
  }

  public void stopInProcess() {
    result(vertx.undeploy(deploymentId));
    verticle = null;
  }

  /** {@code node-agent serve} on these directories in a JVM of its own (-Xmx256m), once it answers. */
  public ServiceJvm startJvm(String... extraArgs) throws IOException {
    return startJvm(List.of("-Xmx256m"), extraArgs);
  }

  /** The same with these JVM options; each start appends to {@code agent.log} under the root. */
  public ServiceJvm startJvm(List<String> jvmOptions, String... extraArgs) throws IOException {
    return startJvm(null, jvmOptions, extraArgs);
  }

  /** The same from {@code classpath} (an earlier build's jar, for a before-and-after benchmark); null: the test's. */
  public ServiceJvm startJvm(String classpath, List<String> jvmOptions, String... extraArgs) throws IOException {
    return startJvm(List.of(), classpath, jvmOptions, extraArgs);
  }

  /** The agent in a JVM started behind {@code prefix} (such as {@code ip netns exec NS}). */
  public ServiceJvm startJvmBehind(List<String> prefix, String... extraArgs) throws IOException {
    return startJvm(prefix, null, List.of(), extraArgs);
  }

  private ServiceJvm startJvm(List<String> prefix, String classpath, List<String> jvmOptions, String... extraArgs)
      throws IOException {
    ServiceJvm.Command command = ServiceJvm.command("the agent", "io.mpqemu.agent.NodeAgentMain", root.resolve("agent.log"))
        .prefix(prefix);
    ServiceJvm jvm = (classpath == null ? command : command.classpath(classpath))
        .jvm(jvmOptions)
        .args("serve", "--node-id", "test-node", "--state-dir", stateDir.toString(), "--image-root",
            imageRoot.toString(), "--listen", "unix:" + socket, "--memory-mib", "4096")
        .args(classpath == null ? new String[] {"--uid-range", uidRange} : new String[0])
        .args(extraArgs)
        .start("agent ready", CALL_DEADLINE);
    nodeInfo();
    return jvm;
  }

  public NodeAgentVerticle verticle() {
    return verticle;
  }

  public Vertx vertx() {
    return vertx;
  }

  // ------------------------------------------------------------ gRPC calls

  public <Req, Resp> Resp call(ServiceMethod<Resp, Req> method, Req request) {
    return call(address(), method, request);
  }

  /** A call to any server, e.g. a control plane deployed in this harness's Vert.x. */
  public <Req, Resp> Resp call(SocketAddress to, ServiceMethod<Resp, Req> method, Req request) {
    return result(UnaryCalls.call(grpc, to, method, request, CALL_DEADLINE));
  }

  public SocketAddress address() {
    return SocketAddress.domainSocketAddress(socket.toString());
  }

  public GrpcClient grpcClient() {
    return grpc;
  }

  /** LaunchVm, without waiting for the answer (a benchmark stamps when it arrives). */
  public Future<AgentVm> launchAsync(String vmId, VmSpec spec) {
    return UnaryCalls.call(grpc, address(), NodeAgentServiceGrpcClient.LaunchVm,
        LaunchVmRequest.newBuilder().setVmId(vmId).setSpec(spec).build(), CALL_DEADLINE);
  }

  public AgentVm launch(String vmId, VmSpec spec) {
    return result(launchAsync(vmId, spec));
  }

  public AgentVm stop(String vmId, int timeoutSeconds, boolean force) {
    return call(NodeAgentServiceGrpcClient.StopVm,
        AgentStopVmRequest.newBuilder().setVmId(vmId).setTimeoutSeconds(timeoutSeconds).setForce(force).build());
  }

  public void delete(String vmId, boolean force) {
    call(NodeAgentServiceGrpcClient.DeleteVm, AgentDeleteVmRequest.newBuilder().setVmId(vmId).setForce(force).build());
  }

  public AgentVm get(String vmId) {
    return call(NodeAgentServiceGrpcClient.GetVm, AgentGetVmRequest.newBuilder().setVmId(vmId).build());
  }

  public List<AgentVm> list() {
    return call(NodeAgentServiceGrpcClient.ListVms, ListAgentVmsRequest.getDefaultInstance()).getVmsList();
  }

  public NodeInfo nodeInfo() {
    return call(NodeAgentServiceGrpcClient.GetNodeInfo, GetNodeInfoRequest.getDefaultInstance());
  }

  public String console(String vmId) {
    return call(NodeAgentServiceGrpcClient.GetConsoleLog, AgentConsoleLogRequest.newBuilder().setVmId(vmId).build())
        .getData().toStringUtf8();
  }

  /** ImportImage as a client sends it: the declaration, then the bytes in chunks of {@code chunk}. */
  public Future<CatalogImage> importImageAsync(ImageUpload declared, byte[] data, int chunk) {
    return grpc.request(address(), NodeAgentServiceGrpcClient.ImportImage).compose(req -> {
      req.write(ImportImageChunk.newBuilder().setUpload(declared).build());
      for (int i = 0; i < data.length; i += chunk) {
        req.write(ImportImageChunk.newBuilder()
            .setData(ByteString.copyFrom(Arrays.copyOfRange(data, i, Math.min(data.length, i + chunk)))).build());
      }
      req.end();
      return req.response().compose(resp -> resp.last().recover(e -> Future.failedFuture(resp.status() == null
          ? e : new GrpcCallException(resp.status(), StatusMessages.of(resp)))));
    });
  }

  /** Imports {@code data} as raw image {@code name} into the agent's catalog. */
  public CatalogImage importImage(String name, byte[] data) throws Exception {
    String sha256 = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(data));
    return result(importImageAsync(ImageUpload.newBuilder().setName(name).setFormat("raw").setSha256(sha256)
        .setSizeBytes(data.length).build(), data, 256 * 1024));
  }

  /**
   * Imports {@code file} as image {@code name} of {@code format}, streamed from disk in 256 KiB messages as
   * fast as the agent takes them (the whole file never sits in memory).
   */
  public CatalogImage importFile(String name, String format, Path file) throws Exception {
    MessageDigest digest = MessageDigest.getInstance("SHA-256");
    try (java.io.InputStream in = Files.newInputStream(file)) {
      byte[] buf = new byte[1 << 20];
      for (int n; (n = in.read(buf)) > 0; ) {
        digest.update(buf, 0, n);
      }
    }
    ImageUpload declared = ImageUpload.newBuilder().setName(name).setFormat(format)
        .setSha256(HexFormat.of().formatHex(digest.digest())).setSizeBytes(Files.size(file)).build();
    var req = result(grpc.request(address(), NodeAgentServiceGrpcClient.ImportImage));
    var answer = req.response().compose(resp -> resp.last().recover(e -> Future.failedFuture(resp.status() == null
        ? e : new GrpcCallException(resp.status(), StatusMessages.of(resp)))));
    req.write(ImportImageChunk.newBuilder().setUpload(declared).build());
    try (java.io.InputStream in = Files.newInputStream(file)) {
      byte[] buf = new byte[256 * 1024];
      for (int n; (n = in.readNBytes(buf, 0, buf.length)) > 0; ) {
        if (req.writeQueueFull()) {
          io.vertx.core.Promise<Void> drained = io.vertx.core.Promise.promise();
          req.drainHandler(v -> drained.tryComplete());
          if (req.writeQueueFull()) {
            Await.result(io.vertx.core.Future.any(drained.future(), answer).mapEmpty(), Duration.ofMinutes(2));
          }
        }
        if (answer.isComplete()) {
          break; // refused early: the answer says why
        }
        req.write(ImportImageChunk.newBuilder().setData(ByteString.copyFrom(buf, 0, n)).build());
      }
    }
    req.end();
    return Await.result(answer, Duration.ofMinutes(5));
  }

  /** Watches the agent's gRPC event stream; events land in the returned list. */
  public List<VmEvent> watch(String vmId, boolean includeRecent) {
    List<VmEvent> seen = new CopyOnWriteArrayList<>();
    // the handler is set on the event loop as soon as the stream exists: set later from this thread,
    // it would miss what the agent sends at once (the replay)
    result(ServerStreams.open(grpc, address(), NodeAgentServiceGrpcClient.WatchEvents,
        WatchAgentEventsRequest.newBuilder().setVmId(vmId == null ? "" : vmId).setIncludeRecent(includeRecent).build(),
        stream -> stream.handler(seen::add)));
    return seen;
  }

  /** The value of a future this harness's calls return, waiting a little longer than their deadline. */
  public static <T> T result(Future<T> f) {
    return Await.result(f, RESULT_WITHIN);
  }

  // ------------------------------------------------------------ waiting

  /** Waits until the console shows {@code text}. */
  public String awaitConsole(String vmId, String text, Duration within) {
    return Await.atMost(within).every(Duration.ofMillis(50)).until(() -> console(vmId), shown -> shown.contains(text),
        shown -> "console of " + vmId + " did not show '" + text + "'; it shows: " + shown);
  }

  public static VmEvent awaitEvent(List<VmEvent> events, Predicate<VmEvent> match, Duration within) {
    return Await.atMost(within).until(() -> events.stream().filter(match).findFirst().orElse(null), Objects::nonNull,
        none -> "no matching event; events: " + summary(events));
  }

  public VmEvent awaitBusEvent(Predicate<VmEvent> match, Duration within) {
    return awaitEvent(busEvents, match, within);
  }

  /**
   * Waits for the VM's GUEST_READY; when it does not come, fails with the VM's events and the last lines
   * of its console log, so that a guest stuck in its boot says where.
   */
  public VmEvent awaitGuestReady(String vmId, Duration within) {
    try {
      return awaitBusEvent(e -> e.getVmId().equals(vmId) && e.getType() == EventType.GUEST_READY, within);
    } catch (AssertionError e) {
      throw new AssertionError(vmId + " was not ready within " + within + "; its events: " + summary(busEventsOf(vmId))
          + "; the end of its console:\n" + consoleTail(vmId, 40), e);
    }
  }

  /** The last {@code lines} lines of the VM's console (GetConsoleLog), control characters shown as '?'. */
  public String consoleTail(String vmId, int lines) {
    try {
      List<String> all = List.of(console(vmId).replaceAll("[\\x00-\\x09\\x0b-\\x1f\\x7f]", "?").split("\n"));
      return String.join("\n", all.subList(Math.max(0, all.size() - lines), all.size()));
    } catch (RuntimeException e) {
      return "(its console log is not readable: " + e.getMessage() + ")";
    }
  }

  public List<VmEvent> busEventsOf(String vmId) {
    return busEvents.stream().filter(e -> e.getVmId().equals(vmId)).toList();
  }

  public static List<String> summary(List<VmEvent> events) {
    return events.stream().map(e -> e.getVmSeq() + ":" + e.getType() + "/" + e.getPhase() + "/" + e.getReason()).toList();
  }

  // ------------------------------------------------------------ host state

  /** Pids of every process whose command line names a file in the state directory. */
  public List<Long> qemuPids() {
    return new ProcessScanner().under(stateDir);
  }

  /** Waits until exactly these processes name the state directory (forks of a script settle). */
  public void awaitQemuPids(List<Long> expected, Duration within) {
    Await.atMost(within).until(this::qemuPids, found -> new HashSet<>(found).equals(new HashSet<>(expected)),
        found -> "processes naming the state directory: expected " + expected + ", found " + found);
  }

  public void awaitNoQemu(Duration within) {
    Await.atMost(within).every(Duration.ofMillis(50)).until(this::qemuPids, List::isEmpty,
        found -> "QEMU processes still running: " + found);
  }

  public Path vmDir(String vmId) {
    return stateDir.resolve("vms").resolve(vmId);
  }

  /** A raw boot disk under the image root; returns its path relative to the root. */
  public String bootImage(String name, String message, boolean powerOff) throws IOException {
    BootImage.writeRaw(imageRoot.resolve(name), message, powerOff);
    return name;
  }

  public String emptyImage(String name) throws IOException {
    Files.write(imageRoot.resolve(name), new byte[1024 * 1024]);
    return name;
  }

  /** The cgroups this harness's agents made, once their processes are gone (best effort). */
  private void removeCgroups() throws IOException {
    String name = "mpqemu-" + Cgroups.keyFor(stateDir);
    List<Path> groups = List.of();
    // the tree changes while it is walked (an agent's cgroups go as their processes exit): a directory
    // that vanished under the walk is walked again
    for (int attempt = 1; attempt <= 5; attempt++) {
      try (Stream<Path> found = Files.find(Path.of("/sys/fs/cgroup"), 8,
          (p, a) -> a.isDirectory() && p.getFileName() != null && p.getFileName().toString().equals(name))) {
        groups = found.toList();
        break;
      } catch (java.io.UncheckedIOException e) {
        if (!(e.getCause() instanceof java.nio.file.NoSuchFileException) || attempt == 5) {
          throw e;
        }
      }
    }
    for (Path group : groups) {
      List<Path> dirs;
      try (Stream<Path> tree = Files.walk(group)) {
        dirs = tree.filter(Files::isDirectory).sorted(Comparator.reverseOrder()).toList();
      } catch (java.io.UncheckedIOException | java.nio.file.NoSuchFileException e) {
        continue; // gone meanwhile
      }
      for (Path dir : dirs) {
        try {
          Files.deleteIfExists(dir);
        } catch (IOException e) {
          // a zombie nobody reaped still counts in it
        }
      }
    }
  }

  @Override
  public void close() throws Exception {
    // the agents go first (their VMs outlive them, by design), then whatever a test left running;
    // processes whose agent died are not our children: once killed they may stay zombies, which
    // ProcessTable counts as gone
    result(vertx.close());
    ProcessTable.killAndAwait(new ProcessScanner().under(root), Duration.ofSeconds(10));
    removeCgroups();
    try (Stream<Path> walk = Files.walk(root)) {
      for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(p);
      }
    }
  }
}
