package io.mpqemu.agent;

import io.mpqemu.agent.api.NodeAgentGrpcService;
import io.mpqemu.agent.events.EventHub;
import io.mpqemu.agent.http.AgentHttp;
import io.mpqemu.agent.http.AgentMetrics;
import io.mpqemu.agent.http.AgentReadiness;
import io.mpqemu.agent.http.HttpListener;
import io.mpqemu.agent.node.QemuProbe;
import io.mpqemu.agent.process.ProcessScanner;
import io.mpqemu.agent.process.SetsidProcessLauncher;
import io.mpqemu.agent.qemu.QemuCommandLine;
import io.mpqemu.agent.qemu.QmpClient;
import io.mpqemu.agent.state.VmStateStore;
import io.mpqemu.agent.unix.SocketPairs;
import io.mpqemu.agent.unix.UnixQmpTransport;
import io.mpqemu.agent.vm.ImageResolver;
import io.mpqemu.agent.vm.Protos;
import io.mpqemu.agent.vm.VmManager;
import io.mpqemu.agent.vm.VmRuntime;
import io.mpqemu.fleet.BusSignatures;
import io.mpqemu.fleet.ClusterTls;
import io.mpqemu.fleet.Role;
import io.mpqemu.v1.Capacity;
import io.mpqemu.v1.NodeAgentServiceGrpcService;
import io.mpqemu.v1.NodeHeartbeat;
import io.mpqemu.v1.NodeInfo;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.grpc.health.HealthService;
import io.vertx.grpc.reflection.ReflectionService;
import io.vertx.grpc.server.GrpcServer;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Wires the node agent: probes QEMU, adopts what runs, serves gRPC. VMs outlive it by design. */
public final class NodeAgentVerticle extends VerticleBase {

  private static final Logger LOG = LoggerFactory.getLogger(NodeAgentVerticle.class);
  private static final Duration QMP_CONNECT_TIMEOUT = Duration.ofSeconds(10);
  /** Event bus address of node heartbeats. */
  public static final String HEARTBEAT_ADDRESS = "mpqemu.node.heartbeat";

  private final AgentConfig config;
  private final ClusterTls tls;
  private BusSignatures.Signer signer;
  private final List<HttpServer> servers = new ArrayList<>();
  private final List<String> boundAddresses = new ArrayList<>();
  private VmManager vms;
  private EventHub events;
  private QemuProbe.Result probe;
  private Instant startedAt;
  private long rotationTimer = -1;
  private long heartbeatTimer = -1;
  private long heartbeatsSent;
  private AgentMetrics metrics;
  private volatile boolean started;
  private volatile String httpAddress = "";

  public NodeAgentVerticle(AgentConfig config) {
    this(config, null);
  }

  /**
   * An agent whose TCP listeners speak mutual TLS with {@code tls} (null: loopback plaintext only),
   * obeying only certificates of the cluster CA that name a control plane.
   */
  public NodeAgentVerticle(AgentConfig config, ClusterTls tls) {
    this.config = config.validated();
    this.tls = tls;
  }

  /** The address /healthz, /readyz and /metrics are served on, with its real port; "" without HTTP. */
  public String httpAddress() {
    return httpAddress;
  }

  /** The addresses the gRPC servers listen on, with real ports: {@code unix:/path}, {@code tcp:host:port}. */
  public List<String> boundAddresses() {
    return List.copyOf(boundAddresses);
  }

  public VmManager vms() {
    return vms;
  }

  @Override
  public Future<?> start() {
    startedAt = Instant.now();
    VmStateStore store = new VmStateStore(config.stateDir());
    return vertx.executeBlocking(() -> {
      store.init();
      return new QemuProbe(config.qemuBinary()).probe(config.accelerator());
    }).compose(found -> {
      if (!found.multiprocess()) {
        return Future.failedFuture(config.qemuBinary() + " (" + found.version() + ") lacks multi-process support "
            + "(x-remote machine, x-pci-proxy-dev, x-remote-object); install Debian's qemu-system-x86 7.2 or newer");
      }
      probe = found;
      signer = tls == null ? null : new BusSignatures.Signer(tls);
      events = new EventHub(vertx, signer);
      VmRuntime rt = new VmRuntime(vertx, context, config, new QemuCommandLine(config.qemuBinary()),
          found.accelerator(), new SetsidProcessLauncher(), new ProcessScanner(), store, events,
          (name, socket) -> QmpClient.connect(vertx, name, () -> UnixQmpTransport.connect(socket, QMP_CONNECT_TIMEOUT), QMP_CONNECT_TIMEOUT),
          SocketPairs::open, Clock.systemUTC());
      vms = new VmManager(rt, new ImageResolver(config.imageRoot()));
      return vms.adoptAll();
    }).compose(v -> startServers()).compose(v -> startHttp()).onSuccess(v -> {
      started = true;
      rotationTimer = vertx.setPeriodic(5000, id -> vms.rotateConsoleLogs());
      String endpoint = config.advertise().isEmpty() ? boundAddresses.get(0) : config.advertise();
      if (tls != null && !endpoint.startsWith("tcp:")) {
        LOG.warn("node={} announces {} to the cluster: a control plane on another host cannot call it; listen on"
            + " tcp:<cluster address>:7070 (first) or set --advertise", config.nodeId(), endpoint);
      }
      heartbeatTimer = vertx.setPeriodic(0, config.heartbeatInterval().toMillis(), id -> publishHeartbeat(endpoint));
      LOG.info("node={} agent ready: {}, multi-process yes, {}; {} VM(s) known; gRPC on {}{}{}", config.nodeId(),
          probe.version(), probe.kvmDetail(), vms.count(), boundAddresses,
          tls == null ? "" : " (TCP under mutual TLS as " + tls.subject() + ")",
          httpAddress.isEmpty() ? "" : "; HTTP on " + httpAddress);
    });
  }

  @Override
  public Future<?> stop() {
    LOG.info("node={} agent stopping; its {} VM(s) keep running and the next agent adopts them", config.nodeId(),
        vms == null ? 0 : vms.count());
    if (rotationTimer >= 0) {
      vertx.cancelTimer(rotationTimer);
    }
    if (heartbeatTimer >= 0) {
      vertx.cancelTimer(heartbeatTimer);
    }
    if (metrics != null) {
      metrics.stop();
    }
    List<Future<Void>> closing = new ArrayList<>();
    for (HttpServer s : servers) {
      closing.add(s.close());
    }
    // VMs keep running: nothing here stops a VM or closes its socketpairs
    if (vms != null) {
      vms.detachAll();
    }
    return Future.join(closing);
  }

  /** Announces this node on {@value #HEARTBEAT_ADDRESS}; the control plane learns nodes from it. */
  private void publishHeartbeat(String endpoint) {
    NodeHeartbeat beat = NodeHeartbeat.newBuilder().setNodeId(config.nodeId()).setEndpoint(endpoint)
        .setInfo(nodeInfo()).setTime(Protos.timestamp(Instant.now())).build();
    try {
      io.vertx.core.json.JsonObject body = new io.vertx.core.json.JsonObject(
          com.google.protobuf.util.JsonFormat.printer().omittingInsignificantWhitespace().print(beat));
      if (signer == null) {
        vertx.eventBus().publish(HEARTBEAT_ADDRESS, body);
      } else {
        vertx.eventBus().publish(HEARTBEAT_ADDRESS, body, signer.sign(HEARTBEAT_ADDRESS, body, true));
      }
      heartbeatsSent++;
    } catch (com.google.protobuf.InvalidProtocolBufferException e) {
      throw new IllegalStateException(e);
    }
  }

  public NodeInfo nodeInfo() {
    return NodeInfo.newBuilder()
        .setNodeId(config.nodeId())
        .setQemuBinary(config.qemuBinary().toString())
        .setQemuVersion(probe.version())
        .setMultiprocessSupported(probe.multiprocess())
        .setAccelerator(probe.accelerator().qemuName())
        .putAllLabels(config.labels())
        .addAllAllowedDrivers(config.limits().allowedDrivers())
        .setCapacity(Capacity.newBuilder()
            .setMemoryMib(config.memoryMib())
            .setMaxVms(config.maxVms())
            .setMaxMemoryMibPerVm(config.limits().maxMemoryMibPerVm())
            .setMaxDevicesPerVm(config.limits().maxDevicesPerVm())
            .setMaxDisksPerDevice(config.limits().maxDisksPerDevice())
            .setMaxVcpusPerVm(config.limits().maxVcpusPerVm())
            .setHostCpus(Runtime.getRuntime().availableProcessors()))
        .setAllocatedMemoryMib(vms.allocatedMemoryMib())
        .setVmCount(vms.count())
        .setAgentVersion(Version.get())
        .setStartedAt(Protos.timestamp(startedAt))
        .build();
  }

  private Future<Void> startServers() {
    GrpcServer grpc = GrpcServer.server(vertx);
    grpc.addService(new NodeAgentGrpcService(context, vms, events, this::nodeInfo));
    grpc.addService(ReflectionService.v1());
    grpc.addService(HealthService.create(vertx)
        .register(NodeAgentServiceGrpcService.SERVICE_NAME, () -> Future.succeededFuture(true)));
    Future<Void> chain = Future.succeededFuture();
    for (String address : config.listen()) {
      chain = chain.compose(v -> listen(grpc, address));
    }
    return chain;
  }

  /** /healthz, /readyz and /metrics, when an HTTP address is configured. */
  private Future<Void> startHttp() {
    if (config.httpListen().isEmpty()) {
      return Future.succeededFuture();
    }
    metrics = new AgentMetrics(context, vms, events, () -> heartbeatsSent, Clock.systemUTC());
    metrics.start();
    AgentReadiness readiness = new AgentReadiness(vertx, () -> probe, config.stateDir(), () -> started);
    HttpServer server = vertx.createHttpServer(new HttpServerOptions());
    servers.add(server);
    server.requestHandler(AgentHttp.router(vertx, context, metrics, readiness));
    return HttpListener.listen(vertx, server, config.httpListen()).map(bound -> {
      httpAddress = bound;
      return null;
    });
  }

  private Future<Void> listen(GrpcServer grpc, String address) {
    return HttpListener.listenGrpc(vertx, grpc, address, tls, "node-agent gRPC " + address, EnumSet.of(Role.CONTROL_PLANE),
        servers::add).map(bound -> {
          boundAddresses.add(bound);
          return null;
        });
  }
}
