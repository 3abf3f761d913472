package io.mpqemu.controlplane.api;

import io.mpqemu.access.Access;
import io.mpqemu.access.AccessPolicy;
import io.mpqemu.access.Caller;
import io.mpqemu.access.StreamLimit;
import io.mpqemu.grpc.MessageLimits;
import io.mpqemu.controlplane.events.EventLog;
import io.mpqemu.controlplane.events.OutOfRange;
import io.mpqemu.controlplane.nodes.NodeRegistry;
import io.mpqemu.controlplane.store.StoredNode;
import io.mpqemu.controlplane.store.StoreException;
import io.mpqemu.controlplane.store.StoredVm;
import io.mpqemu.controlplane.store.VmFilter;
import io.mpqemu.controlplane.vm.VmError;
import io.mpqemu.controlplane.dispatch.AgentClients;
import io.mpqemu.controlplane.intents.VmIntents;
import io.mpqemu.errors.Echo;
import io.mpqemu.errors.Failures;
import io.mpqemu.errors.InternalErrors;
import io.mpqemu.grpc.GrpcCallException;
import io.mpqemu.http.OnContext;
import io.mpqemu.v1.CreateVmRequest;
import io.mpqemu.v1.DeleteVmRequest;
import io.mpqemu.v1.DeleteVmResponse;
import io.mpqemu.v1.DeleteCatalogImageRequest;
import io.mpqemu.v1.DeleteCatalogImageResponse;
import io.mpqemu.v1.GetConsoleLogRequest;
import io.mpqemu.v1.ListCatalogRequest;
import io.mpqemu.v1.ListCatalogResponse;
import io.mpqemu.v1.GetConsoleLogResponse;
import io.mpqemu.v1.GetVmRequest;
import io.mpqemu.v1.ListControlPlanesRequest;
import io.mpqemu.v1.ListControlPlanesResponse;
import io.mpqemu.v1.ListNodesRequest;
import io.mpqemu.v1.ListNodesResponse;
import io.mpqemu.v1.ListVmsRequest;
import io.mpqemu.v1.ListVmsResponse;
import io.mpqemu.v1.Node;
import io.mpqemu.v1.Phase;
import io.mpqemu.v1.StartVmRequest;
import io.mpqemu.v1.StopVmRequest;
import io.mpqemu.v1.UpdateVmRequest;
import io.mpqemu.v1.Vm;
import io.mpqemu.v1.VmEvent;
import io.mpqemu.v1.VmServiceGrpcClient;
import io.mpqemu.v1.VmServiceGrpcService;
import io.mpqemu.v1.WatchEventsRequest;
import io.mpqemu.wire.Timestamps;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.grpc.common.GrpcStatus;
import io.vertx.grpc.common.ServiceMethod;
import io.vertx.grpc.server.GrpcServer;
import io.vertx.grpc.server.GrpcServerRequest;
import io.vertx.grpc.server.GrpcServerResponse;
import io.vertx.grpc.server.StatusException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** mpqemu.v1.VmService: checks each request, runs it on the control plane's loop, maps errors. */
public final class VmGrpcService extends VmServiceGrpcService {

  /** The role each method needs; the rest (Create, Start, Stop, Delete, Update) need operator. */
  public static final Map<String, Access> ACCESS = Map.of(
      path(GetVm), Access.VIEWER,
      path(ListVms), Access.VIEWER,
      path(ListNodes), Access.VIEWER,
      path(ListControlPlanes), Access.VIEWER,
      path(WatchEvents), Access.VIEWER,
      path(GetConsoleLog), Access.VIEWER,
      // a writer needs operator: checked when the stream opens (ConsoleStreams)
      path(AttachConsole), Access.VIEWER,
      path(ListCatalog), Access.VIEWER);

  private static final Logger LOG = LoggerFactory.getLogger(VmGrpcService.class);
  static final int DEFAULT_PAGE = 100;
  static final int MAX_PAGE = 1000;
  static final int MAX_STOP_TIMEOUT_SECONDS = 3600;
  static final int DEFAULT_CONSOLE_BYTES = 64 * 1024;
  static final int MAX_CONSOLE_BYTES = MessageLimits.MAX_CONSOLE_BYTES;
  private static final Pattern LABEL_KEY = Pattern.compile("^[a-z0-9]([a-z0-9._/-]{0,62})$");
  private static final Pattern LABEL_VALUE = Pattern.compile("^[A-Za-z0-9._-]{0,63}$");
  private static final Pattern VM_ID = Pattern.compile("^[a-z0-9][a-z0-9-]{0,62}$");

  private final Context controlPlane;
  private final VmIntents vms;
  private final ConsoleRelay consoles;
  private final ConsoleStreams consoleStreams;
  private final CatalogRelay catalog;
  private final NodeRegistry nodes;
  private final EventLog log;
  private final AccessPolicy policy;
  private final StreamLimit streams;
  private final Supplier<Future<ListControlPlanesResponse>> controlPlanes;
  /**
   * Completes once this control plane's event log holds every event committed before the call: at once where it
   * records them itself (the leader, a single control plane), after a read from the store on a standby.
   */
  private final Supplier<Future<Void>> caughtUp;
  private final LeaderForwarding forwarding;

  /**
   * @param policy who callers are (CreateVm records its caller as the VM's owner)
   * @param streams how many WatchEvents streams each caller may hold (shared with the SSE route)
   * @param controlPlanes ListControlPlanes' answer, read when asked
   * @param forwarding where a standby sends the writes it is given; null: this control plane never forwards
   */
  public VmGrpcService(Context controlPlane, VmIntents vms, NodeRegistry nodes, AgentClients agents, EventLog log,
      AccessPolicy policy, StreamLimit streams, Supplier<Future<ListControlPlanesResponse>> controlPlanes,
      LeaderForwarding forwarding, Supplier<Future<Void>> caughtUp) {
    this.controlPlanes = controlPlanes;
    this.caughtUp = caughtUp;
    this.forwarding = forwarding;
    this.controlPlane = controlPlane;
    this.vms = vms;
    this.consoles = new ConsoleRelay(vms, nodes, agents);
    this.consoleStreams = new ConsoleStreams(controlPlane, consoles, policy, streams, VmGrpcService::toStatus);
    this.catalog = new CatalogRelay(controlPlane, nodes, agents);
    this.nodes = nodes;
    this.log = log;
    this.policy = policy;
    this.streams = streams;
  }

  static String path(ServiceMethod<?, ?> method) {
    return "/" + method.serviceName().fullyQualifiedName() + "/" + method.methodName();
  }

  /** As a caller with no identity would: the VM belongs to no one. */
  @Override
  public Future<Vm> createVm(CreateVmRequest request) {
    return createVm(request, "");
  }

  /** Creates the VM for {@code owner}, whose quota it counts against. */
  public Future<Vm> createVm(CreateVmRequest request, String owner) {
    return onControlPlane(() -> {
      if (!request.hasSpec()) {
        throw invalid("spec is required");
      }
      return vms.create(request.getSpec(), request.getDesiredState(), request.getRequestId(), owner).map(Convert::vm);
    });
  }

  @Override
  public Future<Vm> getVm(GetVmRequest request) {
    return onControlPlane(() -> vms.get(request.getVm()).map(Convert::vm));
  }

  @Override
  public Future<ListVmsResponse> listVms(ListVmsRequest request) {
    return onControlPlane(() -> {
      if (request.getPhase() == Phase.UNRECOGNIZED) {
        throw invalid("phase is not a known phase");
      }
      long size = Integer.toUnsignedLong(request.getPageSize());
      if (size > MAX_PAGE) {
        throw invalid("page_size must be at most " + MAX_PAGE + ", was " + size);
      }
      int limit = size == 0 ? DEFAULT_PAGE : (int) size;
      String after = decodeToken(request.getPageToken());
      VmFilter filter = new VmFilter(request.getPhase(), request.getNode(), parseSelector(request.getLabelSelector()));
      // converted and sized (protobuf keeps each message's size once computed) on the reader's cores: the
      // event loop is left only the page's bytes to write
      return vms.list(filter, after, limit + 1, VmGrpcService::sized).map(page -> {
        ListVmsResponse.Builder answer = ListVmsResponse.newBuilder();
        page.stream().limit(limit).forEach(answer::addVms);
        if (page.size() > limit) {
          answer.setNextPageToken(encodeToken(page.get(limit - 1).getId()));
        }
        return answer.build();
      });
    });
  }

  private static Vm sized(StoredVm stored) {
    Vm vm = Convert.vm(stored);
    vm.getSerializedSize();
    return vm;
  }

  @Override
  public Future<Vm> startVm(StartVmRequest request) {
    return onControlPlane(() -> vms.start(request.getVm(), request.getExpectedRevision()).map(Convert::vm));
  }

  @Override
  public Future<Vm> stopVm(StopVmRequest request) {
    return onControlPlane(() -> {
      long timeout = Integer.toUnsignedLong(request.getTimeoutSeconds());
      if (timeout > MAX_STOP_TIMEOUT_SECONDS) {
        throw invalid("timeout_seconds must be at most " + MAX_STOP_TIMEOUT_SECONDS + ", was " + timeout);
      }
      return vms.stop(request.getVm(), (int) timeout, request.getForce(), request.getExpectedRevision()).map(Convert::vm);
    });
  }

  @Override
  public Future<DeleteVmResponse> deleteVm(DeleteVmRequest request) {
    return onControlPlane(() -> vms.delete(request.getVm(), request.getExpectedRevision())
        .map(v -> DeleteVmResponse.getDefaultInstance()));
  }

  @Override
  public Future<Vm> updateVm(UpdateVmRequest request) {
    return onControlPlane(() -> vms.update(request.getVm(), request.getSpec(), request.getUpdateMask().getPathsList(),
        request.getExpectedRevision()).map(Convert::vm));
  }

  @Override
  public Future<ListNodesResponse> listNodes(ListNodesRequest request) {
    return onControlPlane(() -> {
      ListNodesResponse.Builder answer = ListNodesResponse.newBuilder();
      for (StoredNode n : nodes.all()) {
        answer.addNodes(Node.newBuilder().setId(n.id()).setEndpoint(n.endpoint()).setState(n.state()).setInfo(n.info())
            .setLastHeartbeat(Timestamps.of(n.lastHeartbeat())));
      }
      return Future.succeededFuture(answer.build());
    });
  }

  @Override
  public Future<ListControlPlanesResponse> listControlPlanes(ListControlPlanesRequest request) {
    return onControlPlane(controlPlanes::get);
  }

  @Override
  public Future<ListCatalogResponse> listCatalog(ListCatalogRequest request) {
    return catalog.list().recover(e -> Future.failedFuture(toStatus(e)));
  }

  @Override
  public Future<DeleteCatalogImageResponse> deleteCatalogImage(DeleteCatalogImageRequest request) {
    return catalog.delete(request).recover(e -> Future.failedFuture(toStatus(e)));
  }

  @Override
  public Future<GetConsoleLogResponse> getConsoleLog(GetConsoleLogRequest request) {
    return onControlPlane(() -> {
      long max = Integer.toUnsignedLong(request.getMaxBytes());
      if (max > MAX_CONSOLE_BYTES) {
        throw invalid("max_bytes must be at most " + MAX_CONSOLE_BYTES + ", was " + max);
      }
      return consoles.tail(request.getVm(), max == 0 ? DEFAULT_CONSOLE_BYTES : (int) max);
    });
  }

  /**
   * Binds the reads as generated; the writes and the streams need the request itself: a write to know who
   * calls (the owner of a VM it creates) and whether a standby forwarded it ({@link LeaderForwarding}),
   * WatchEvents and AttachConsole who calls (for the stream limit and, for a console, its access; and
   * vertx-grpc reports a client's cancel only to the request's error handler).
   */
  @Override
  public void bind(GrpcServer server) {
    List<ServiceMethod<?, ?>> methods = new ArrayList<>(all());
    methods.removeAll(List.of(WatchEvents, AttachConsole, ImportImage, CreateVm, StartVm, StopVm, DeleteVm, UpdateVm));
    builder(this).bind(methods).build().bind(server);
    write(server, CreateVm, VmServiceGrpcClient.CreateVm, this::createVm);
    write(server, StartVm, VmServiceGrpcClient.StartVm, (msg, owner) -> startVm(msg));
    write(server, StopVm, VmServiceGrpcClient.StopVm, (msg, owner) -> stopVm(msg));
    write(server, DeleteVm, VmServiceGrpcClient.DeleteVm, (msg, owner) -> deleteVm(msg));
    write(server, UpdateVm, VmServiceGrpcClient.UpdateVm, (msg, owner) -> updateVm(msg));
    server.callHandler(WatchEvents, request -> request.handler(msg -> watch(msg, request)));
    server.callHandler(AttachConsole, consoleStreams::handle);
    server.callHandler(ImportImage, catalog::importImage);
  }

  /**
   * A write: made here by the leader (or a control plane alone on its store), forwarded to the leader by a
   * standby. A call another control plane forwarded is made here, for the owner it names, or refused.
   */
  private <Req, Resp> void write(GrpcServer server, ServiceMethod<Req, Resp> served, ServiceMethod<Resp, Req> toLeader,
      java.util.function.BiFunction<Req, String, Future<Resp>> here) {
    server.callHandler(served, request -> request.handler(msg -> {
      Caller caller = policy.callerOf(request.connection());
      boolean forwarded = caller.peer() && request.headers().contains(LeaderForwarding.FORWARDED_BY);
      String owner = forwarded ? LeaderForwarding.owner(request.headers().get(LeaderForwarding.OWNER)) : caller.identity();
      java.util.Optional<String> leader = forwarded || forwarding == null ? java.util.Optional.empty()
          : forwarding.leader();
      Future<Resp> answer = leader.isPresent() ? forwarding.forward(leader.get(), toLeader, msg, owner)
          : here.apply(msg, owner);
      answer.onComplete(request.response()::end, request.response()::fail);
    }));
  }

  private void watch(WatchEventsRequest request, GrpcServerRequest<WatchEventsRequest, VmEvent> call) {
    GrpcServerResponse<WatchEventsRequest, VmEvent> response = call.response();
    Context caller = Vertx.currentContext();
    if (!request.getVmId().isEmpty() && !VM_ID.matcher(request.getVmId()).matches()) {
      response.fail(invalid("vm_id is not a valid VM id"));
      return;
    }
    Caller who = policy.callerOf(call.connection());
    Runnable release = streams.open(who).orElse(null);
    if (release == null) {
      response.fail(new StatusException(GrpcStatus.RESOURCE_EXHAUSTED, streams.refusal(who)));
      return;
    }
    // the range check comes before any header goes out: a refusal is then a trailers-only answer,
    // whose message every client reads; on a standby, after it has read what was committed before the call, so
    // that "the end" and a from_seq a client got from the leader mean the log as recorded, not as read so far
    controlPlane.runOnContext(v -> caughtUp.get().onComplete(ignored -> {
      long end = log.lastSeq();
      long first = log.firstSeq();
      caller.runOnContext(x -> {
        if (request.getFromSeq() > 0 && request.getFromSeq() + 1 < first) {
          release.run();
          response.fail(new StatusException(GrpcStatus.OUT_OF_RANGE, OutOfRange.message(first, "from_seq")));
          return;
        }
        if (Long.compareUnsigned(request.getFromSeq(), end) > 0) {
          release.run();
          response.fail(new StatusException(GrpcStatus.OUT_OF_RANGE, "from_seq "
              + Long.toUnsignedString(request.getFromSeq()) + " is beyond the end of the event log (seq " + end
              + "); resume from a seq you received"));
          return;
        }
        response.writeHead();
        GrpcEventSink sink = new GrpcEventSink(response, caller, controlPlane, release);
        call.errorHandler(error -> sink.closed()); // the client cancelled
        response.exceptionHandler(e -> sink.closed()); // the connection broke
        controlPlane.runOnContext(y -> sink.onClosed(log.subscribe(request.getFromSeq(), request.getVmId(), sink,
            request.getStopAtEnd() ? end : Long.MAX_VALUE)));
      });
    }));
  }

  // ------------------------------------------------------------------ helpers

  /** Runs the call on the control plane's loop; answers on the caller's, with errors mapped to statuses. */
  private <T> Future<T> onControlPlane(Supplier<Future<T>> call) {
    return OnContext.call(controlPlane, call).recover(e -> Future.failedFuture(toStatus(e)));
  }

  private static Throwable toStatus(Throwable e) {
    if (e instanceof StatusException) {
      return e;
    }
    if (e instanceof VmError v) {
      return new StatusException(status(v.kind()), v.getMessage());
    }
    if (e instanceof StoreException s && s.kind() == StoreException.Kind.UNAVAILABLE && s.callerMessage() != null) {
      // the store said it in the log once; the caller learns which store and that a retry may work
      return new StatusException(GrpcStatus.UNAVAILABLE, s.callerMessage());
    }
    if (e instanceof GrpcCallException g) {
      GrpcStatus status = g.status() == GrpcStatus.NOT_FOUND ? GrpcStatus.NOT_FOUND : GrpcStatus.UNAVAILABLE;
      return new StatusException(status, "the VM's node answered " + g.getMessage());
    }
    if (e instanceof io.mpqemu.grpc.UnaryCalls.WrongPeerException) {
      return new StatusException(GrpcStatus.UNAVAILABLE, "the VM's node cannot be trusted: " + e.getMessage());
    }
    if (e instanceof java.io.IOException || e instanceof io.vertx.core.VertxException) {
      // could not connect, TLS refused, the connection broke: the node did not answer. The innermost
      // cause says why ("Connection refused"); the outer messages add the socket's path, which the log keeps
      LOG.warn("the VM's node cannot be reached: {}", Failures.describe(e));
      return new StatusException(GrpcStatus.UNAVAILABLE, "the VM's node cannot be reached: " + Failures.rootMessage(e));
    }
    return InternalErrors.status(LOG, "answering a VmService call", e);
  }

  /** The one place a domain error kind becomes a gRPC status code. */
  static GrpcStatus status(VmError.Kind kind) {
    return switch (kind) {
      case INVALID -> GrpcStatus.INVALID_ARGUMENT;
      case NOT_FOUND -> GrpcStatus.NOT_FOUND;
      case EXISTS -> GrpcStatus.ALREADY_EXISTS;
      case PRECONDITION -> GrpcStatus.FAILED_PRECONDITION;
      case UNAVAILABLE -> GrpcStatus.UNAVAILABLE;
      case QUOTA -> GrpcStatus.RESOURCE_EXHAUSTED;
      case OUT_OF_RANGE -> GrpcStatus.OUT_OF_RANGE;
    };
  }

  static StatusException invalid(String message) {
    return new StatusException(GrpcStatus.INVALID_ARGUMENT, message);
  }

  static Map<String, String> parseSelector(String selector) {
    Map<String, String> labels = new LinkedHashMap<>();
    if (selector.isBlank()) {
      return labels;
    }
    for (String part : selector.split(",", -1)) {
      int eq = part.indexOf('=');
      String key = eq < 0 ? part.strip() : part.substring(0, eq).strip();
      String value = eq < 0 ? null : part.substring(eq + 1).strip();
      if (value == null || !LABEL_KEY.matcher(key).matches() || !LABEL_VALUE.matcher(value).matches()) {
        throw invalid("label_selector must be key=value pairs separated by commas (keys [a-z0-9._/-], values"
            + " [A-Za-z0-9._-]); this part is not: " + Echo.quote(part));
      }
      labels.put(key, value);
    }
    return labels;
  }

  static String encodeToken(String lastId) {
    return Base64.getUrlEncoder().withoutPadding().encodeToString(("v1:" + lastId).getBytes(StandardCharsets.UTF_8));
  }

  static String decodeToken(String token) {
    if (token.isEmpty()) {
      return "";
    }
    try {
      String raw = new String(Base64.getUrlDecoder().decode(token), StandardCharsets.UTF_8);
      if (raw.startsWith("v1:") && VM_ID.matcher(raw.substring(3)).matches()) {
        return raw.substring(3);
      }
    } catch (IllegalArgumentException e) {
      // falls through
    }
    throw invalid("page_token is not one this server gave out; start again without it");
  }
}
