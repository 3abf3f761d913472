package io.mpqemu.controlplane;

import com.google.protobuf.util.JsonFormat;
import io.mpqemu.access.Access;
import io.mpqemu.access.AccessPolicy;
import io.mpqemu.access.StreamLimit;
import io.mpqemu.controlplane.api.ControlPlaneList;
import io.mpqemu.controlplane.api.LeaderForwarding;
import io.mpqemu.controlplane.api.VmGrpcService;
import io.mpqemu.controlplane.dispatch.AgentClients;
import io.mpqemu.controlplane.dispatch.NodeAgents;
import io.mpqemu.controlplane.leadership.LeaseKeeper;
import io.mpqemu.controlplane.leadership.Leadership;
import io.mpqemu.controlplane.events.EventLog;
import io.mpqemu.controlplane.http.ControlPlaneHttp;
import io.mpqemu.controlplane.http.ControlPlaneMetrics;
import io.mpqemu.controlplane.http.ControlPlaneReadiness;
import io.mpqemu.controlplane.nodes.AnnouncedEndpoint;
import io.mpqemu.controlplane.nodes.NodeLiveness;
import io.mpqemu.controlplane.nodes.NodeRegistry;
import io.mpqemu.controlplane.reconcile.Reconciler;
import io.mpqemu.controlplane.records.VmRecords;
import io.mpqemu.controlplane.store.StoreExecutor;
import io.mpqemu.controlplane.store.StoredNode;
import io.mpqemu.controlplane.vm.DroppedEvent;
import io.mpqemu.controlplane.vm.Quota;
import io.mpqemu.fleet.BusSignatures;
import io.mpqemu.fleet.ClusterTls;
import io.mpqemu.fleet.Role;
import io.mpqemu.http.ServiceListeners;
import io.mpqemu.metrics.ServiceRegistry;
import io.mpqemu.v1.NodeHeartbeat;
import io.mpqemu.v1.VmEvent;
import io.mpqemu.v1.VmServiceGrpcService;
import io.mpqemu.wire.BusAddresses;
import io.mpqemu.wire.EventJson;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.json.JsonObject;
import java.nio.file.Files;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Wires the control plane: store, event log, nodes, the core (intents, reconciler, liveness), the bus, timers and gRPC. */
public final class ControlPlaneVerticle extends VerticleBase {

  /** How often the event log lets go of what its retention no longer keeps. */
  private static final Duration PRUNE_EVERY = Duration.ofMinutes(1);
  private static final Logger LOG = LoggerFactory.getLogger(ControlPlaneVerticle.class);
  private static final Logger REFUSED = LoggerFactory.getLogger("io.mpqemu.fleet.Refused");
  /** The {@code reason} of a heartbeat dropped for the endpoint it announced (see {@link AnnouncedEndpoint}). */
  static final String BAD_ENDPOINT = "bad_endpoint";
  private final java.util.Map<String, Long> refusalsLogged = new java.util.HashMap<>();

  private final ControlPlaneConfig config;
  private final ClusterTls tls;
  /** How far a signed bus message's time may be from this host's clock (and how long its nonce is remembered). */
  private final Duration replayWindow;
  private final BusSignatures.Drops busDrops = new BusSignatures.Drops();
  /**
   * Bus messages the control plane itself dropped after their signature was found good (another node's
   * VM, an unknown VM, a refused endpoint): counted for /metrics, logged once per burst.
   */
  private final BusDrops drops = new BusDrops(REFUSED::warn, LOG::info, System::nanoTime);
  /** The registry /metrics renders: the process's (which its Vertx reports into), or null for one of its own. */
  private final ServiceRegistry givenRegistry;
  private ServiceRegistry ownRegistry;
  private ServiceListeners listeners;
  private StoreExecutor store;
  private AgentClients agents;
  private VmRecords records;
  private EventLog log;
  private NodeRegistry nodes;
  private VmGrpcService api;
  private LeaderForwarding forwarding;
  private AccessPolicy policy;
  private StreamLimit streams;
  private Future<?> busJoined = Future.succeededFuture();
  private ControlPlaneMetrics metrics;
  /** On a shared store (PostgreSQL): the lease and what changes with it; null on SQLite, where this one leads alone. */
  private Succession succession;
  private Leadership leadership = Leadership.SOLE;
  private volatile boolean started;

  public ControlPlaneVerticle(ControlPlaneConfig config) {
    this(config, null);
  }

  /**
   * A control plane whose TCP API listeners speak mutual TLS with {@code tls} (accepting only client and
   * viewer certificates of the cluster CA) and which calls agents at TCP endpoints under mutual TLS; null
   * keeps everything on loopback plaintext or UNIX sockets.
   */
  public ControlPlaneVerticle(ControlPlaneConfig config, ClusterTls tls) {
    this(config, tls, null);
  }

  /**
   * As above, its /metrics rendering {@code metrics}, the registry of the process it runs in (its
   * Vertx's own metrics go there too); null: a registry of its own, for a Vertx without metrics,
   * closed when the control plane stops.
   */
  public ControlPlaneVerticle(ControlPlaneConfig config, ClusterTls tls, ServiceRegistry metrics) {
    this(config, tls, metrics, BusSignatures.DEFAULT_REPLAY_WINDOW);
  }

  /** As above, dropping signed bus messages outside {@code replayWindow} (the cluster file's {@code replayWindowSeconds}). */
  public ControlPlaneVerticle(ControlPlaneConfig config, ClusterTls tls, ServiceRegistry metrics, Duration replayWindow) {
    this.config = config;
    this.tls = tls;
    this.givenRegistry = metrics;
    this.replayWindow = replayWindow;
  }

  public List<String> boundAddresses() {
    return listeners == null ? List.of() : listeners.grpcAddresses();
  }

  /** The address of the HTTP endpoints, with its real port; "" without HTTP. */
  public String httpAddress() {
    return listeners == null ? "" : listeners.httpAddress();
  }

  public EventLog eventLog() {
    return log;
  }

  /** Whether this control plane leads (always, alone on SQLite), once started. */
  public Leadership leadership() {
    return leadership;
  }

  /** The store's executor (for its group-commit counts), once started. */
  public StoreExecutor storeExecutor() {
    return store;
  }

  @Override
  public Future<?> start() {
    return vertx.executeBlocking(() -> {
      Files.createDirectories(config.dataDir());
      Files.setPosixFilePermissions(config.dataDir(), PosixFilePermissions.fromString("rwx------"));
      // client certificates are operators, viewer certificates viewers; groups resolve here, off the loop
      // and other control planes forward the writes they are given to the leader (LeaderForwarding)
      policy = config.access().policy(Map.of(Role.CLIENT, Access.OPERATOR, Role.VIEWER, Access.VIEWER,
          Role.CONTROL_PLANE, Access.OPERATOR)).withPeers(Role.CONTROL_PLANE);
      LOG.info("control plane store: {}", config.store());
      return config.store().open();
    }).compose(opened -> {
      store = new StoreExecutor(vertx, opened);
      return store.call(st -> st.lastSeq()).map(lastSeq -> {
        log = new EventLog(store, lastSeq);
        nodes = new NodeRegistry(config.notReadyAfter(), config.lostAfter());
        config.store().lease().ifPresent(lease -> {
          // several control planes may share this store: one leads, by the lease; every write is fenced by it
          String id = config.election().controlPlaneId();
          succession = new Succession(vertx, listener -> new LeaseKeeper(vertx, lease, id, config.election().lease(),
              listener), store, log, nodes, Clock.systemUTC());
          opened.fenceWrites(id, succession::fenceEpoch);
          leadership = succession;
        });
        return lastSeq;
      });
    }).compose(lastSeq -> {
      agents = new AgentClients(vertx, config.callDeadline(), tls);
      ControlPlaneCore core = ControlPlaneCore.wire(config, store, log, nodes, new NodeAgents(agents, leadership),
          Clock.systemUTC(), (delay, action) -> vertx.setTimer(Math.max(1, delay.toMillis()), t -> action.run()),
          leadership);
      records = core.records();
      // on a shared store the write model is loaded when this control plane takes office (a standby has none)
      Future<Integer> vms = succession == null ? records.load() : Future.succeededFuture(0);
      return Future.all(vms, store.read(st -> st.nodes())).map(loaded -> {
        List<StoredNode> known = loaded.resultAt(1);
        nodes.load(known, Clock.systemUTC().instant());
        if (succession == null) {
          LOG.info("loaded {} VM(s) and {} node(s); event log at seq {}", loaded.<Integer>resultAt(0), known.size(),
              log.lastSeq());
        } else {
          LOG.info("loaded {} node(s); event log at seq {}; VMs are read when this control plane takes office",
              known.size(), log.lastSeq());
        }
        return core;
      });
    }).compose(core -> {
      Reconciler reconciler = core.reconciler();
      NodeLiveness liveness = core.liveness();
      BusSignatures.Verifier verifier = tls == null ? null : new BusSignatures.Verifier(tls, replayWindow, Clock.systemUTC());
      busJoined = Future.all(
          vertx.eventBus().<JsonObject>consumer(BusAddresses.VM_EVENTS, m -> {
            VmEvent e = EventJson.fromJson(m.body());
            verified(verifier == null ? null : () -> verifier.event(e.getNode(), BusAddresses.VM_EVENTS, m.body(), m.headers()),
                () -> {
                  if (leadership.leads()) { // the leader records agents' events; a standby reads them from the store
                    reconciler.onAgentEvent(e).ifPresent(this::dropped);
                  }
                });
          }).completion(),
          vertx.eventBus().<JsonObject>consumer(BusAddresses.HEARTBEATS, m -> {
            NodeHeartbeat beat = parse(m.body(), NodeHeartbeat.newBuilder()).build();
            verified(verifier == null ? null : () -> verifier.heartbeat(beat.getNodeId(), BusAddresses.HEARTBEATS, m.body(), m.headers()),
                () -> {
                  // in a cluster a node announces a TCP endpoint its certificate (checked above) names
                  String refusal = tls == null ? null
                      : AnnouncedEndpoint.refusal(beat.getNodeId(), beat.getEndpoint(), m.headers().get(BusSignatures.CERTIFICATE));
                  if (refusal != null) {
                    dropped(BAD_ENDPOINT, refusal, refusal, true);
                  } else {
                    liveness.onHeartbeat(beat);
                  }
                });
          }).completion());
      vertx.setPeriodic(1000, id -> liveness.check());
      if (succession == null) {
        config.retention().prune(store, log, Clock.systemUTC());
      }
      vertx.setPeriodic(PRUNE_EVERY.toMillis(), id -> {
        if (leadership.leads()) {
          config.retention().prune(store, log, Clock.systemUTC());
        }
      });
      vertx.setPeriodic(config.reconcileInterval().toMillis(), id -> {
        if (leadership.leads()) {
          reconciler.reconcile();
        }
      });
      Future<Void> settled = Future.succeededFuture();
      if (succession != null) {
        succession.start(records, reconciler::reconcile, config.store());
        // ready once it knows whether it leads; a database out of reach must not hold the start up for long
        settled = succession.settled().timeout(config.election().lease().length().toMillis() * 2,
            java.util.concurrent.TimeUnit.MILLISECONDS).recover(e -> {
              LOG.warn("leadership: {} does not know yet who leads ({}); it serves reads meanwhile", succession.id(),
                  succession.describe());
              return Future.succeededFuture();
            });
      }
      streams = new StreamLimit(config.access().maxStreamsPerCaller());
      Instant startedAt = Clock.systemUTC().instant();
      api = new VmGrpcService(context, core.intents(), nodes, agents, log, policy, streams, succession != null
          ? () -> succession.members().map(ControlPlaneList::of)
          : () -> Future.succeededFuture(ControlPlaneList.alone(listeners.grpcAddresses(), startedAt, Instant.now())),
          forwarding = succession == null ? null
              : new LeaderForwarding(vertx, succession, succession::members, tls, config.callDeadline()),
          succession == null ? Future::succeededFuture : succession::caughtUp);
      return settled.compose(v -> startServers());
    }).compose(v -> startHttp()).onSuccess(v -> {
      if (succession != null) {
        succession.serving(listeners.grpcAddresses());
      }
      started = true;
      LOG.info("control plane access: {}; quota per identity {}; {} event streams per identity", policy.summary(),
          config.quota().equals(Quota.NONE) ? "none" : config.quota().vms() + " VM(s), "
              + config.quota().memoryMib() + " MiB (0: no limit)", config.access().maxStreamsPerCaller());
      LOG.info("control plane ready: data in {}, gRPC on {}{}{}, event log at seq {}{}", config.dataDir(),
          listeners.grpcAddresses(), tls == null ? "" : " (TCP under mutual TLS as " + tls.subject() + ")",
          listeners.httpAddress().isEmpty() ? "" : ", HTTP on " + listeners.httpAddress(), log.lastSeq(),
          succession == null ? "" : "; control plane " + succession.id() + " shares its store: it leads while it holds"
              + " the lease (" + config.election().lease().length().toMillis() + " ms)");
    });
  }

  @Override
  public Future<?> stop() {
    LOG.info("control plane stopping; event log at seq {}", log == null ? 0 : log.lastSeq());
    if (metrics != null) {
      metrics.stop();
    }
    if (ownRegistry != null) {
      ownRegistry.close();
    }
    List<Future<Void>> closing = new ArrayList<>();
    if (succession != null) {
      closing.add(succession.stop()); // releases the lease: a standby leads at its next attempt
    }
    if (listeners != null) {
      closing.add(listeners.close());
    }
    if (agents != null) {
      closing.add(agents.close());
    }
    if (forwarding != null) {
      closing.add(forwarding.close());
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
  private void verified(java.util.concurrent.Callable<BusSignatures.Refusal> check, Runnable then) {
    if (check == null) {
      then.run();
      return;
    }
    vertx.executeBlocking(check, true).onComplete(ar -> {
      if (ar.succeeded() && trusted(ar.result())) {
        then.run();
      } else if (ar.failed()) {
        trusted(BusSignatures.Refusal.of(BusSignatures.Reason.CHECK_FAILED, "a bus message whose check failed: " + ar.cause()));
      }
    });
  }

  /**
   * Counts a bus message that failed its check (signature, window, nonce) by reason, and logs it at
   * most once a minute per kind and node: a burst of replays logs once, /metrics counts them all.
   */
  private boolean trusted(BusSignatures.Refusal refusal) {
    if (refusal == null) {
      return true;
    }
    busDrops.count(refusal.reason());
    long now = System.nanoTime();
    Long last = refusalsLogged.get(refusal.key());
    if (last == null || now - last > java.util.concurrent.TimeUnit.MINUTES.toNanos(1)) {
      refusalsLogged.put(refusal.key(), now);
      if (refusalsLogged.size() > 1000) {
        refusalsLogged.clear();
      }
      REFUSED.warn("event bus: dropped {} (mpqemu_bus_messages_dropped_total{reason=\"{}\"})", refusal.message(),
          refusal.reason().label());
    }
    return false;
  }

  /** An agent's event the reconciler dropped: another node's VM (WARN), or a VM the store does not know (INFO). */
  private void dropped(DroppedEvent d) {
    dropped(d.reason().label(), d.reason().label() + " " + d.node(), d.message(), d.reason() == DroppedEvent.Reason.OTHER_NODES_VM);
  }

  /**
   * Counts a dropped bus message under {@code reason} ({@code mpqemu_bus_messages_dropped_total}) and logs
   * {@code message} unless a message of the same {@code kind} was logged in the last minute.
   */
  private void dropped(String reason, String kind, String message, boolean warn) {
    drops.drop(reason, kind, message, warn);
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
    listeners = new ServiceListeners(vertx, "control-plane API", policy);
    return listeners.serveGrpc(api, VmServiceGrpcService.SERVICE_NAME, config.listen(), tls,
        EnumSet.of(Role.CLIENT, Role.VIEWER, Role.CONTROL_PLANE), VmGrpcService.ACCESS);
  }

  /** Health, metrics, SSE events and read-only JSON, when an HTTP address is configured. */
  private Future<Void> startHttp() {
    if (config.httpListen().isEmpty()) {
      return Future.succeededFuture();
    }
    ServiceRegistry registry = givenRegistry != null ? givenRegistry : (ownRegistry = new ServiceRegistry());
    metrics = new ControlPlaneMetrics(registry, context, records, nodes, log, store, busDrops, drops::counts, Clock.systemUTC());
    metrics.start();
    ControlPlaneReadiness readiness = new ControlPlaneReadiness(store, busJoined, () -> started, leadership);
    return listeners.serveHttp(ControlPlaneHttp.router(vertx, context, api, log, metrics, readiness, policy, streams),
        config.httpListen(), Set.copyOf(config.access().httpHosts()));
  }
}
