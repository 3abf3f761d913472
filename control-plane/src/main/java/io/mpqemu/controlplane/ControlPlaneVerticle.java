package io.mpqemu.controlplane;

import com.google.protobuf.util.JsonFormat;
import io.mpqemu.agent.http.HttpListener;
import io.mpqemu.controlplane.api.VmGrpcService;
import io.mpqemu.controlplane.dispatch.AgentClients;
import io.mpqemu.controlplane.events.EventLog;
import io.mpqemu.controlplane.http.ControlPlaneHttp;
import io.mpqemu.controlplane.http.ControlPlaneMetrics;
import io.mpqemu.controlplane.http.ControlPlaneReadiness;
import io.mpqemu.controlplane.nodes.NodeRegistry;
import io.mpqemu.controlplane.store.SqliteStore;
import io.mpqemu.controlplane.store.StoreExecutor;
import io.mpqemu.controlplane.vm.VmController;
import io.mpqemu.fleet.BusSignatures;
import io.mpqemu.fleet.ClusterTls;
import io.mpqemu.fleet.Role;
import io.mpqemu.v1.NodeHeartbeat;
import io.mpqemu.v1.VmEvent;
import io.mpqemu.v1.VmServiceGrpcService;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.http.HttpServer;
import io.vertx.core.json.JsonObject;
import io.vertx.grpc.health.HealthService;
import io.vertx.grpc.reflection.ReflectionService;
import io.vertx.grpc.server.GrpcServer;
import java.nio.file.Files;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Clock;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Wires the control plane: store, event log, nodes, controller, the bus, timers and gRPC. */
public final class ControlPlaneVerticle extends VerticleBase {

  private static final Logger LOG = LoggerFactory.getLogger(ControlPlaneVerticle.class);
  private static final Logger REFUSED = LoggerFactory.getLogger("io.mpqemu.fleet.Refused");
  private final java.util.Map<String, Long> refusalsLogged = new java.util.HashMap<>();
  public static final String VM_EVENTS = "mpqemu.vm.events";
  public static final String HEARTBEATS = "mpqemu.node.heartbeat";

  private final ControlPlaneConfig config;
  private final ClusterTls tls;
  private final List<HttpServer> servers = new ArrayList<>();
  private final List<String> bound = new ArrayList<>();
  private StoreExecutor store;
  private AgentClients agents;
  private VmController vms;
  private EventLog log;
  private NodeRegistry nodes;
  private VmGrpcService api;
  private Future<?> busJoined = Future.succeededFuture();
  private ControlPlaneMetrics metrics;
  private volatile boolean started;
  private volatile String httpAddress = "";

  public ControlPlaneVerticle(ControlPlaneConfig config) {
    this(config, null);
  }

  /**
   * A control plane whose TCP API listeners speak mutual TLS with {@code tls} (accepting only client
   * certificates of the cluster CA) and which calls agents at TCP endpoints under mutual TLS; null
   * keeps everything on loopback plaintext or UNIX sockets.
   */
  public ControlPlaneVerticle(ControlPlaneConfig config, ClusterTls tls) {
    this.config = config;
    this.tls = tls;
  }

  public List<String> boundAddresses() {
    return List.copyOf(bound);
  }

  /** The address of the HTTP endpoints, with its real port; "" without HTTP. */
  public String httpAddress() {
    return httpAddress;
  }

  public EventLog eventLog() {
    return log;
  }

  @Override
  public Future<?> start() {
    return vertx.executeBlocking(() -> {
      Files.createDirectories(config.dataDir());
      Files.setPosixFilePermissions(config.dataDir(), PosixFilePermissions.fromString("rwx------"));
      return SqliteStore.open(config.database());
    }).compose(opened -> {
      store = new StoreExecutor(vertx, opened);
      return store.call(st -> st.lastSeq());
    }).compose(lastSeq -> {
      log = new EventLog(store, lastSeq);
      nodes = new NodeRegistry(config.notReadyAfter(), config.lostAfter());
      agents = new AgentClients(vertx, config.callDeadline(), tls);
      vms = new VmController(vertx, config, store, log, nodes, agents, Clock.systemUTC());
      return vms.load();
    }).compose(v -> {
      BusSignatures.Verifier verifier = tls == null ? null : new BusSignatures.Verifier(tls);
      busJoined = Future.all(
          vertx.eventBus().<JsonObject>consumer(VM_EVENTS, m -> {
            VmEvent e = parse(m.body(), VmEvent.newBuilder()).build();
            verified(verifier == null ? null : () -> verifier.event(e.getNode(), VM_EVENTS, m.body(), m.headers()),
                () -> vms.onAgentEvent(e));
          }).completion(),
          vertx.eventBus().<JsonObject>consumer(HEARTBEATS, m -> {
            NodeHeartbeat beat = parse(m.body(), NodeHeartbeat.newBuilder()).build();
            verified(verifier == null ? null : () -> verifier.heartbeat(beat.getNodeId(), HEARTBEATS, m.body(), m.headers()),
                () -> vms.onHeartbeat(beat));
          }).completion());
      vertx.setPeriodic(1000, id -> vms.checkNodes());
      vertx.setPeriodic(config.reconcileInterval().toMillis(), id -> vms.reconcile());
      api = new VmGrpcService(context, vms, nodes, log);
      return startServers();
    }).compose(v -> startHttp()).onSuccess(v -> {
      started = true;
      LOG.info("control plane ready: data in {}, gRPC on {}{}{}, event log at seq {}", config.dataDir(), bound,
          tls == null ? "" : " (TCP under mutual TLS as " + tls.subject() + ")",
          httpAddress.isEmpty() ? "" : ", HTTP on " + httpAddress, log.lastSeq());
    });
  }

  @Override
  public Future<?> stop() {
    LOG.info("control plane stopping; event log at seq {}", log == null ? 0 : log.lastSeq());
    if (metrics != null) {
      metrics.stop();
    }
    List<Future<Void>> closing = new ArrayList<>();
    servers.forEach(s -> closing.add(s.close()));
    if (agents != null) {
      closing.add(agents.close());
    }
    return Future.join(closing).eventually(() -> vertx.executeBlocking(() -> {
      if (store != null) {
        store.close();
      }
      return null;
    }));
  }

  /**
   * Runs {@code then} on this loop once {@code check} (null: nothing to check) found the message's
   * signature good. The check (about a millisecond of ECDSA) runs on a worker, in arrival order, so
   * messages keep their order and the loop never waits for it.
   */
  private void verified(java.util.concurrent.Callable<String> check, Runnable then) {
    if (check == null) {
      then.run();
      return;
    }
    vertx.executeBlocking(check, true).onComplete(ar -> {
      if (ar.succeeded() && trusted(ar.result())) {
        then.run();
      } else if (ar.failed()) {
        trusted("a bus message whose check failed: " + ar.cause());
      }
    });
  }

  /** Logs a bus message that failed its signature check (at most once a minute per reason). */
  private boolean trusted(String refusal) {
    if (refusal == null) {
      return true;
    }
    long now = System.nanoTime();
    Long last = refusalsLogged.get(refusal);
    if (last == null || now - last > java.util.concurrent.TimeUnit.MINUTES.toNanos(1)) {
      refusalsLogged.put(refusal, now);
      if (refusalsLogged.size() > 1000) {
        refusalsLogged.clear();
      }
      REFUSED.warn("event bus: dropped {}", refusal);
    }
    return false;
  }

  private static <B extends com.google.protobuf.Message.Builder> B parse(JsonObject json, B builder) {
    try {
      JsonFormat.parser().ignoringUnknownFields().merge(json.encode(), builder);
      return builder;
    } catch (com.google.protobuf.InvalidProtocolBufferException e) {
      throw new IllegalArgumentException("not a " + builder.getDescriptorForType().getName() + ": " + e.getMessage(), e);
    }
  }

  private Future<Void> startServers() {
    GrpcServer grpc = GrpcServer.server(vertx);
    grpc.addService(api);
    grpc.addService(ReflectionService.v1());
    grpc.addService(HealthService.create(vertx)
        .register(VmServiceGrpcService.SERVICE_NAME, () -> Future.succeededFuture(true)));
    Future<Void> chain = Future.succeededFuture();
    for (String address : config.listen()) {
      chain = chain.compose(v -> listen(grpc, address));
    }
    return chain;
  }

  /** Health, metrics, SSE events and read-only JSON, when an HTTP address is configured. */
  private Future<Void> startHttp() {
    if (config.httpListen().isEmpty()) {
      return Future.succeededFuture();
    }
    metrics = new ControlPlaneMetrics(context, vms, nodes, log, Clock.systemUTC());
    metrics.start();
    ControlPlaneReadiness readiness = new ControlPlaneReadiness(store, busJoined, () -> started);
    HttpServer server = vertx.createHttpServer();
    servers.add(server);
    server.requestHandler(ControlPlaneHttp.router(vertx, context, api, log, metrics, readiness));
    return HttpListener.listen(vertx, server, config.httpListen()).map(address -> {
      httpAddress = address;
      return null;
    });
  }

  private Future<Void> listen(GrpcServer grpc, String address) {
    return HttpListener.listenGrpc(vertx, grpc, address, tls, "control-plane API " + address, EnumSet.of(Role.CLIENT),
        servers::add).map(boundAddress -> {
          bound.add(boundAddress);
          return null;
        });
  }
}
