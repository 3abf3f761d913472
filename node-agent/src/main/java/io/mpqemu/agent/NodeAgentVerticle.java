package io.mpqemu.agent;

import io.mpqemu.access.AccessPolicy;
import io.mpqemu.access.StreamLimit;
import io.mpqemu.agent.api.AgentAccess;
import io.mpqemu.agent.api.NodeAgentGrpcService;
import io.mpqemu.agent.confine.Cgroups;
import io.mpqemu.agent.confine.Confinement;
import io.mpqemu.agent.catalog.Catalog;
import io.mpqemu.agent.console.Consoles;
import io.mpqemu.agent.events.EventHub;
import io.mpqemu.agent.fence.LeaderFence;
import io.mpqemu.agent.http.AgentHttp;
import io.mpqemu.agent.http.AgentMetrics;
import io.mpqemu.agent.http.AgentReadiness;
import io.mpqemu.agent.images.CloudInitSeeds;
import io.mpqemu.agent.images.ImageOpener;
import io.mpqemu.agent.net.BridgeSampler;
import io.mpqemu.agent.net.NicPreparer;
import io.mpqemu.agent.images.Overlays;
import io.mpqemu.agent.node.QemuProbe;
import io.mpqemu.agent.process.PosixSpawnLauncher;
import io.mpqemu.agent.process.ProcessScanner;
import io.mpqemu.agent.qemu.QemuCommandLine;
import io.mpqemu.agent.qemu.QmpClient;
import io.mpqemu.agent.state.LeaderEpochFile;
import io.mpqemu.agent.state.VmStateStore;
import io.mpqemu.agent.stats.ProcReader;
import io.mpqemu.agent.stats.ProcessSampler;
import io.mpqemu.agent.unix.SocketPairs;
import io.mpqemu.agent.unix.UnixQmpTransport;
import io.mpqemu.agent.vm.Protos;
import io.mpqemu.agent.vm.VertxTimers;
import io.mpqemu.agent.vm.VmManager;
import io.mpqemu.agent.vm.VmRuntime;
import io.mpqemu.fleet.BusSignatures;
import io.mpqemu.fleet.ClusterTls;
import io.mpqemu.fleet.Role;
import io.mpqemu.http.ServiceListeners;
import io.mpqemu.metrics.ServiceRegistry;
import io.mpqemu.net.Endpoint;
import io.mpqemu.v1.Capacity;
import io.mpqemu.v1.NodeAgentServiceGrpcService;
import io.mpqemu.v1.NodeHeartbeat;
import io.mpqemu.v1.NodeInfo;
import io.mpqemu.wire.BusAddresses;
import io.mpqemu.wire.Timestamps;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Wires the node agent: probes QEMU, adopts what runs, serves gRPC. VMs outlive it by design. */
public final class NodeAgentVerticle extends VerticleBase {

  private static final Logger LOG = LoggerFactory.getLogger(NodeAgentVerticle.class);
  private static final Duration QMP_CONNECT_TIMEOUT = Duration.ofSeconds(10);
  /** Event bus address of node heartbeats. */

  private final AgentConfig config;
  private final ClusterTls tls;
  /** The registry /metrics renders: the process's (which its Vertx reports into), or null for one of the agent's own. */
  private final ServiceRegistry givenRegistry;
  private ServiceRegistry ownRegistry;
  private BusSignatures.Signer signer;
  private AccessPolicy policy;
  private ServiceListeners listeners;
  private VmManager vms;
  private Consoles consoles;
  private Catalog catalog;
  /** The largest image the catalog takes. */
  static final long MAX_IMAGE_BYTES = 256L << 30;
  private Runnable unwatchConsoles;
  private LeaderFence fence;
  private EventHub events;
  private ProcessSampler sampler;
  /** Guests' addresses and taps' counters on bridges, read every 2 s off the loop. */
  private BridgeSampler bridges;
  private QemuProbe.Result probe;
  private Confinement confinement;
  private Path qemuExecutable;
  private Instant startedAt;
  private long rotationTimer = -1;
  private long heartbeatTimer = -1;
  private long heartbeatsSent;
  private AgentMetrics metrics;
  private volatile boolean started;

  public NodeAgentVerticle(AgentConfig config) {
    this(config, null);
  }

  /**
   * An agent whose TCP listeners speak mutual TLS with {@code tls} (null: loopback plaintext only),
   * obeying only certificates of the cluster CA that name a control plane.
   */
  public NodeAgentVerticle(AgentConfig config, ClusterTls tls) {
    this(config, tls, null);
  }

  /**
   * As above, its /metrics rendering {@code metrics}, the registry of the process it runs in (its
   * Vertx's own metrics go there too); null: a registry of its own, for a Vertx without metrics or
   * shared with another service, closed when the agent stops.
   */
  public NodeAgentVerticle(AgentConfig config, ClusterTls tls, ServiceRegistry metrics) {
    this.config = config.validated();
    this.tls = tls;
    this.givenRegistry = metrics;
  }

  /** The address /healthz, /readyz and /metrics are served on, with its real port; "" without HTTP. */
  public String httpAddress() {
    return listeners == null ? "" : listeners.httpAddress();
  }

  /** The addresses the gRPC servers listen on, with real ports: {@code unix:/path}, {@code tcp:host:port}. */
  public List<String> boundAddresses() {
    return listeners == null ? List.of() : listeners.grpcAddresses();
  }

  public VmManager vms() {
    return vms;
  }

  @Override
  public Future<?> start() {
    startedAt = Instant.now();
    VmStateStore store = new VmStateStore(config.stateDir());
    LeaderEpochFile epochFile = new LeaderEpochFile(config.stateDir());
    return vertx.executeBlocking(() -> {
      store.init();
      fence = new LeaderFence(epochFile.read(), epoch -> context.<Void>executeBlocking(() -> {
        epochFile.write(epoch);
        return null;
      }, false).onSuccess(v -> LOG.info("node={} leader epoch {} recorded in {}: older ones are refused from now on",
          config.nodeId(), epoch, epochFile.path())));
      policy = config.access().policy(AgentAccess.CERTIFICATE_ROLES); // resolves groups: off the loop
      qemuExecutable = Confinement.resolve(config.qemuBinary());
      catalog = new Catalog(config.stateDir().resolve("catalog"), MAX_IMAGE_BYTES, Clock.systemUTC());
      confinement = Confinement.forAgent(config.confinement(), config.stateDir(), config.qemuBinary(),
          config.limits().maxDevicesPerVm());
      return new QemuProbe(config.qemuBinary(), confinement::asMainWould).probe(config.accelerator());
    }).compose(found -> {
      if (!found.multiprocess()) {
        return Future.failedFuture(config.qemuBinary() + " (" + found.version() + ") lacks multi-process support "
            + "(x-remote machine, x-pci-proxy-dev, x-remote-object); install Debian's qemu-system-x86 7.2 or newer");
      }
      probe = found;
      signer = tls == null ? null : new BusSignatures.Signer(tls);
      events = new EventHub(vertx, signer);
      VmRuntime rt = new VmRuntime(vertx, context, config, new QemuCommandLine(config.qemuBinary()),
          found.accelerator(), new PosixSpawnLauncher(qemuExecutable), new ProcessScanner(), store, events,
          (name, socket) -> QmpClient.connect(vertx, name, () -> UnixQmpTransport.connect(socket, QMP_CONNECT_TIMEOUT), QMP_CONNECT_TIMEOUT),
          SocketPairs::open, Clock.systemUTC(), new VertxTimers(vertx), confinement);
      Overlays overlays = new Overlays(config.stateDir().resolve("disks"), qemuImg(config.qemuBinary()));
      CloudInitSeeds seeds = new CloudInitSeeds(overlays, "genisoimage");
      vms = new VmManager(rt, new ImageOpener(config.imageRoot(), catalog, overlays, seeds,
          new NicPreparer(config.networks())), overlays);
      // watching before the adoptions, so that an adopted VM's console opens with it
      consoles = new Consoles(context, vms, store::paths, Clock.systemUTC());
      unwatchConsoles = events.listen(consoles::onEvent);
      sampler = new ProcessSampler(context, vms::list, new ProcReader().withCgroupMemory(Cgroups::memoryOf));
      bridges = new BridgeSampler(context, vms::list, config.networks(), vms::nicAddressLearnt);
      return vms.adoptAll();
    }).compose(v -> startServers()).compose(v -> startHttp()).onFailure(e -> {
      if (confinement != null) {
        vertx.executeBlocking(() -> {
          confinement.close(); // a failed start releases the uid range and the view
          return null;
        });
      }
    }).onSuccess(v -> {
      started = true;
      // this callback may run on another context than the agent's: VM state is read on the agent's loop
      rotationTimer = vertx.setPeriodic(5000, id -> context.runOnContext(ignored -> vms.rotateLogs()));
      sampler.start();
      bridges.start();
      String endpoint = config.advertise().isEmpty() ? listeners.grpcAddresses().get(0) : config.advertise();
      if (tls != null && !Endpoint.isTcp(endpoint)) {
        LOG.warn("node={} announces {} to the cluster: a control plane on another host cannot call it; listen on"
            + " tcp:<cluster address>:7070 (first) or set --advertise", config.nodeId(), endpoint);
      }
      heartbeatTimer = vertx.setPeriodic(0, config.heartbeatInterval().toMillis(),
          id -> context.runOnContext(ignored -> publishHeartbeat(endpoint)));
      if (confinement.enabled()) {
        LOG.info("node={} confinement on: {}", config.nodeId(), confinement.detail());
      } else {
        LOG.warn("node={} confinement OFF (--confinement=off): {}", config.nodeId(), confinement.detail());
      }
      LOG.info("node={} leader epoch: {}", config.nodeId(), fence.highest() == 0
          ? "none seen yet (" + epochFile.path() + " absent): commands without an epoch are accepted"
          : fence.highest() + " (" + epochFile.path() + "): commands of older epochs, or of none, are refused");
      LOG.info("node={} access: {}; {} WatchEvents streams per identity", config.nodeId(), policy.summary(),
          config.access().maxStreamsPerCaller());
      LOG.info("node={} agent ready: {}, multi-process yes, {}; {} VM(s) known; gRPC on {}{}{}", config.nodeId(),
          probe.version(), probe.kvmDetail(), vms.count(), listeners.grpcAddresses(),
          tls == null ? "" : " (TCP under mutual TLS as " + tls.subject() + ")",
          listeners.httpAddress().isEmpty() ? "" : "; HTTP on " + listeners.httpAddress());
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
    if (bridges != null) {
      bridges.stop();
    }
    if (sampler != null) {
      sampler.stop();
    }
    if (metrics != null) {
      metrics.stop();
    }
    if (ownRegistry != null) {
      ownRegistry.close();
    }
    if (consoles != null) {
      unwatchConsoles.run();
      consoles.closeAll("the node agent is stopping; the VM goes on: attach again once it is back");
    }
    // VMs keep running: nothing here stops a VM or closes its socketpairs
    if (vms != null) {
      vms.detachAll();
    }
    Future<?> closed = listeners == null ? Future.succeededFuture() : listeners.close();
    return closed.eventually(() -> vertx.executeBlocking(() -> {
      if (confinement != null) {
        confinement.close();
      }
      return null;
    }));
  }

  /** qemu-img beside the QEMU binary when that is a path, else from PATH: it makes the VMs' own disks. */
  private static String qemuImg(Path qemuBinary) {
    Path parent = qemuBinary.getParent();
    return parent == null ? "qemu-img" : parent.resolve("qemu-img").toString();
  }

  /** Announces this node on {@value BusAddresses#HEARTBEATS}; the control plane learns nodes from it. */
  private void publishHeartbeat(String endpoint) {
    NodeHeartbeat beat = NodeHeartbeat.newBuilder().setNodeId(config.nodeId()).setEndpoint(endpoint)
        .setInfo(nodeInfo()).setTime(Timestamps.of(Instant.now())).build();
    try {
      io.vertx.core.json.JsonObject body = new io.vertx.core.json.JsonObject(
          com.google.protobuf.util.JsonFormat.printer().omittingInsignificantWhitespace().print(beat));
      if (signer == null) {
        vertx.eventBus().publish(BusAddresses.HEARTBEATS, body);
      } else {
        vertx.eventBus().publish(BusAddresses.HEARTBEATS, body, signer.sign(BusAddresses.HEARTBEATS, body, true));
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
        .setAccelerator(probe.accelerator().qemuName()).setAcceleratorDetail(probe.kvmDetail())
        .addAllCatalogImages(catalog.names())
        .addAllNetworks(config.networks().names())
        .putAllLabels(config.labels())
        .addAllAllowedDrivers(config.limits().allowedDrivers())
        .setCapacity(Capacity.newBuilder()
            .setMemoryMib(config.memoryMib())
            .setMaxVms(config.maxVms())
            .setMaxMemoryMibPerVm(config.limits().maxMemoryMibPerVm())
            .setMaxDevicesPerVm(config.limits().maxDevicesPerVm())
            .setMaxDisksPerDevice(config.limits().maxDisksPerDevice())
            .setMaxVcpusPerVm(config.limits().maxVcpusPerVm())
            .setMaxNicsPerVm(config.limits().maxNicsPerVm())
            .setHostCpus(Runtime.getRuntime().availableProcessors()))
        .setAllocatedMemoryMib(vms.allocatedMemoryMib())
        .setVmCount(vms.count())
        .setAgentVersion(Version.get())
        .setStartedAt(Timestamps.of(startedAt))
        .setConfinement(confinement.enabled() ? io.mpqemu.v1.Confinement.CONFINEMENT_ON : io.mpqemu.v1.Confinement.CONFINEMENT_OFF)
        .setConfinementDetail(confinement.detail())
        .setHighestLeaderEpoch(fence.highest())
        .build();
  }

  private Future<Void> startServers() {
    listeners = new ServiceListeners(vertx, "node-agent gRPC", policy);
    StreamLimit streams = new StreamLimit(config.access().maxStreamsPerCaller());
    return listeners.serveGrpc(new NodeAgentGrpcService(context, config.nodeId(), fence, vms, events, sampler,
        this::nodeInfo, policy, streams, consoles, catalog, bridges.neighbours()),
        NodeAgentServiceGrpcService.SERVICE_NAME, config.listen(), tls, EnumSet.of(Role.CONTROL_PLANE),
        AgentAccess.METHODS);
  }

  /** /healthz, /readyz and /metrics, when an HTTP address is configured. */
  private Future<Void> startHttp() {
    if (config.httpListen().isEmpty()) {
      return Future.succeededFuture();
    }
    ServiceRegistry registry = givenRegistry != null ? givenRegistry : (ownRegistry = new ServiceRegistry());
    metrics = new AgentMetrics(registry, context, vms, events, sampler, bridges, () -> heartbeatsSent, Clock.systemUTC());
    metrics.start();
    AgentReadiness readiness = new AgentReadiness(vertx, () -> probe, config.stateDir(), () -> started);
    return listeners.serveHttp(AgentHttp.router(vertx, context, metrics, readiness), config.httpListen(),
        Set.copyOf(config.access().httpHosts()));
  }
}
