package io.mpqemu.agent.api;

import io.mpqemu.access.AccessPolicy;
import io.mpqemu.access.Caller;
import io.mpqemu.access.StreamLimit;
import io.mpqemu.grpc.MessageLimits;
import com.google.protobuf.ByteString;
import io.mpqemu.agent.catalog.Catalog;
import io.mpqemu.agent.console.Consoles;
import io.mpqemu.agent.events.EventHub;
import io.mpqemu.agent.fence.FenceException;
import io.mpqemu.agent.fence.LeaderFence;
import io.mpqemu.agent.stats.ProcessSampler;
import io.mpqemu.agent.vm.VmManager;
import io.mpqemu.agent.net.NeighbourTable;
import io.mpqemu.http.OnContext;
import io.mpqemu.spec.InvalidSpecException;
import io.mpqemu.spec.SpecValidator;
import io.mpqemu.v1.AgentConsoleLogRequest;
import io.mpqemu.v1.AgentDeleteVmRequest;
import io.mpqemu.v1.AgentDeleteVmResponse;
import io.mpqemu.v1.AgentGetVmRequest;
import io.mpqemu.v1.AgentStopVmRequest;
import io.mpqemu.v1.AgentVm;
import io.mpqemu.v1.DeleteImageRequest;
import io.mpqemu.v1.DeleteImageResponse;
import io.mpqemu.v1.GetConsoleLogResponse;
import io.mpqemu.v1.ListImagesRequest;
import io.mpqemu.v1.ListImagesResponse;
import io.mpqemu.v1.GetNodeInfoRequest;
import io.mpqemu.v1.LaunchVmRequest;
import io.mpqemu.v1.ListAgentVmsRequest;
import io.mpqemu.v1.ListAgentVmsResponse;
import io.mpqemu.v1.NodeAgentServiceGrpcService;
import io.mpqemu.v1.NodeInfo;
import io.mpqemu.v1.VmEvent;
import io.mpqemu.v1.WatchAgentEventsRequest;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.grpc.common.GrpcStatus;
import io.vertx.grpc.common.ServiceMethod;
import io.vertx.grpc.server.GrpcServer;
import io.vertx.grpc.server.GrpcServerRequest;
import io.vertx.grpc.server.GrpcServerResponse;
import io.vertx.grpc.server.StatusException;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** NodeAgentService: checks each request, hands it to the VM manager, maps errors to status codes. */
public final class NodeAgentGrpcService extends NodeAgentServiceGrpcService {

  private static final Logger LOG = LoggerFactory.getLogger(NodeAgentGrpcService.class);

  static final int MAX_STOP_TIMEOUT_SECONDS = 3600;
  static final int DEFAULT_CONSOLE_BYTES = 64 * 1024;
  static final int MAX_CONSOLE_BYTES = MessageLimits.MAX_CONSOLE_BYTES;
  /** Events a slow WatchEvents caller may have queued before it is cut off. */
  static final int WATCH_QUEUE_LIMIT = 1024;

  private final Context agent;
  private final String nodeId;
  private final LeaderFence fence;
  private final FenceRefusals refusals = new FenceRefusals(Clock.systemUTC());
  private final VmManager vms;
  private final EventHub events;
  private final ProcessSampler figures;
  private final Supplier<NodeInfo> nodeInfo;
  private final AccessPolicy policy;
  private final StreamLimit streams;
  private final ConsoleStreams consoles;
  private final CatalogCalls catalog;
  private final NeighbourTable neighbours;

  /**
   * @param agent the context that owns all VM state; gRPC requests arrive on other event loops and
   *     are handed over to it, their answers handed back
   * @param fence admits each command that changes state by its leader epoch, before it acts; used on
   *     {@code agent}'s loop only
   * @param figures the last CPU and memory figures of each running process, which GetVm and ListVms show
   * @param policy who callers are, for {@code streams}
   * @param streams how many WatchEvents and AttachConsole streams each caller may hold at once
   * @param consoles the node's consoles, for AttachConsole
   * @param catalog the node's image catalog, for ImportImage, ListImages and DeleteImage
   */
  public NodeAgentGrpcService(Context agent, String nodeId, LeaderFence fence, VmManager vms, EventHub events,
      ProcessSampler figures, Supplier<NodeInfo> nodeInfo, AccessPolicy policy, StreamLimit streams, Consoles consoles,
      Catalog catalog, NeighbourTable neighbours) {
    this.agent = agent;
    this.neighbours = neighbours;
    this.nodeId = nodeId;
    this.fence = fence;
    this.vms = vms;
    this.events = events;
    this.figures = figures;
    this.nodeInfo = nodeInfo;
    this.policy = policy;
    this.streams = streams;
    this.consoles = new ConsoleStreams(agent, consoles, policy, streams);
    this.catalog = new CatalogCalls(agent.owner(), nodeId, catalog, this::baseUsers);
  }

  /** Which VMs of this node are based on each catalog image; read on the agent's loop. */
  private Future<Map<String, List<String>>> baseUsers() {
    return OnContext.call(agent, () -> {
      Map<String, List<String>> users = new java.util.TreeMap<>();
      for (AgentVm vm : vms.list()) {
        for (io.mpqemu.v1.ProxiedDevice d : vm.getSpec().getDevicesList()) {
          for (io.mpqemu.v1.Disk disk : d.getDisksList()) {
            if (!disk.getBase().isEmpty()) {
              users.computeIfAbsent(disk.getBase(), b -> new ArrayList<>()).add(vm.getVmId());
            }
          }
        }
      }
      return Future.succeededFuture(users);
    });
  }

  @Override
  public Future<ListImagesResponse> listImages(ListImagesRequest request) {
    return catalog.list(request);
  }

  @Override
  public Future<DeleteImageResponse> deleteImage(DeleteImageRequest request) {
    return catalog.delete(request);
  }

  @Override
  public Future<AgentVm> launchVm(LaunchVmRequest request) {
    return checked(() -> {
      requireVmId(request.getVmId());
      if (!request.hasSpec()) {
        throw Statuses.invalid("spec is required");
      }
      return fenced("LaunchVm", request.getVmId(), request.getLeaderEpoch(), () -> {
        var clash = NicConflicts.of(request.getVmId(), request.getSpec(), vms.list());
        if (clash.isPresent()) {
          return Future.failedFuture(new StatusException(GrpcStatus.FAILED_PRECONDITION, clash.get()));
        }
        return vms.launch(request.getVmId(), request.getSpec(), request.getSpecRevision()).map(VmViews::with);
      });
    });
  }

  @Override
  public Future<AgentVm> stopVm(AgentStopVmRequest request) {
    return checked(() -> {
      requireVmId(request.getVmId());
      // uint32 arrives as a signed int: compare unsigned, or 2^32-1 would pass as -1
      long timeout = Integer.toUnsignedLong(request.getTimeoutSeconds());
      if (timeout > MAX_STOP_TIMEOUT_SECONDS) {
        throw Statuses.invalid("timeout_seconds must be at most " + MAX_STOP_TIMEOUT_SECONDS + ", was " + timeout);
      }
      return fenced("StopVm", request.getVmId(), request.getLeaderEpoch(),
          () -> vms.stop(request.getVmId(), Duration.ofSeconds(timeout), request.getForce()).map(VmViews::with));
    });
  }

  @Override
  public Future<AgentDeleteVmResponse> deleteVm(AgentDeleteVmRequest request) {
    return checked(() -> {
      requireVmId(request.getVmId());
      return fenced("DeleteVm", request.getVmId(), request.getLeaderEpoch(),
          () -> vms.delete(request.getVmId(), request.getForce()).map(v -> AgentDeleteVmResponse.getDefaultInstance()));
    });
  }

  @Override
  public Future<AgentVm> getVm(AgentGetVmRequest request) {
    return checked(() -> {
      requireVmId(request.getVmId());
      return vms.get(request.getVmId()).map(figures::withFigures).map(this::view);
    });
  }

  @Override
  public Future<ListAgentVmsResponse> listVms(ListAgentVmsRequest request) {
    return checked(() -> Future.succeededFuture(ListAgentVmsResponse.newBuilder()
        .addAllVms(vms.list().stream().map(figures::withFigures).map(this::view).toList()).build()));
  }

  @Override
  public Future<GetConsoleLogResponse> getConsoleLog(AgentConsoleLogRequest request) {
    return checked(() -> {
      requireVmId(request.getVmId());
      long maxBytes = Integer.toUnsignedLong(request.getMaxBytes());
      if (maxBytes > MAX_CONSOLE_BYTES) {
        throw Statuses.invalid("max_bytes must be at most " + MAX_CONSOLE_BYTES + ", was " + maxBytes);
      }
      int max = maxBytes == 0 ? DEFAULT_CONSOLE_BYTES : (int) maxBytes;
      return vms.consoleLog(request.getVmId(), max).map(t -> GetConsoleLogResponse.newBuilder()
          .setData(ByteString.copyFrom(t.data())).setTruncated(t.truncated()).build());
    });
  }

  @Override
  public Future<NodeInfo> getNodeInfo(GetNodeInfoRequest request) {
    return checked(() -> Future.succeededFuture(nodeInfo.get()));
  }

  /**
   * Binds every method as generated except WatchEvents, AttachConsole and ImportImage, which need the
   * request itself:
   * vertx-grpc reports a client's cancel only to the request's error handler, which the generated
   * binding hides.
   */
  @Override
  public void bind(GrpcServer server) {
    List<ServiceMethod<?, ?>> methods = new ArrayList<>(all());
    methods.remove(WatchEvents);
    methods.remove(AttachConsole);
    methods.remove(ImportImage);
    builder(this).bind(methods).build().bind(server);
    server.callHandler(ImportImage, catalog::importImage);
    server.callHandler(WatchEvents, call -> call.handler(request -> watch(request, call)));
    server.callHandler(AttachConsole, consoles::handle);
  }

  private void watch(WatchAgentEventsRequest request, GrpcServerRequest<WatchAgentEventsRequest, VmEvent> call) {
    GrpcServerResponse<WatchAgentEventsRequest, VmEvent> response = call.response();
    String vmId = request.getVmId();
    if (!vmId.isEmpty()) {
      try {
        SpecValidator.validateVmId(vmId);
      } catch (InvalidSpecException e) {
        response.fail(Statuses.invalid(e.getMessage()));
        return;
      }
    }
    Caller who = policy.callerOf(call.connection());
    Runnable release = streams.open(who).orElse(null);
    if (release == null) {
      response.fail(new StatusException(GrpcStatus.RESOURCE_EXHAUSTED, streams.refusal(who)));
      return;
    }
    response.setWriteQueueMaxSize(WATCH_QUEUE_LIMIT);
    response.writeHead();
    Watch watch = new Watch(response, Vertx.currentContext(), vmId, release);
    // a stream that never has an event to write (a quiet VM) learns here that it is gone, not from a
    // failed write
    call.errorHandler(error -> watch.end("the client cancelled (" + error + ")"));
    response.exceptionHandler(e -> watch.end("its connection broke (" + e.getMessage() + ")"));
    // registered on the agent's loop, where events are published, so the replay and the live
    // events form one ordered sequence; each is written on the caller's loop, in that order
    agent.runOnContext(v -> watch.register(request.getIncludeRecent()));
  }

  /**
   * One WatchEvents stream. Its writes and its end run on the caller's event loop; its registration
   * with the hub, and its removal, on the agent's. The removal is queued on the agent's loop behind
   * the registration, so a stream cancelled before it was registered leaves no watcher behind.
   */
  private final class Watch {
    private final GrpcServerResponse<?, VmEvent> response;
    private final Context caller;
    private final String vmId;
    private final Runnable release;
    private volatile boolean ended;
    /** Set and run on the agent's loop only. */
    private Runnable unwatch;

    Watch(GrpcServerResponse<?, VmEvent> response, Context caller, String vmId, Runnable release) {
      this.response = response;
      this.caller = caller;
      this.vmId = vmId;
      this.release = release;
    }

    /** On the agent's loop. */
    void register(boolean replayRecent) {
      if (ended) {
        return; // gone before it got here
      }
      unwatch = events.watch(replayRecent, event -> {
        if (vmId.isEmpty() || vmId.equals(event.getVmId())) {
          caller.runOnContext(x -> deliver(event));
        }
      });
      LOG.info("WatchEvents stream opened on {} (recent={})", filter(), replayRecent);
    }

    /** On the caller's loop. */
    void deliver(VmEvent event) {
      if (ended) {
        return;
      }
      if (response.writeQueueFull()) {
        end("it fell too far behind");
        response.fail(new StatusException(GrpcStatus.RESOURCE_EXHAUSTED, "the watcher fell too far behind; "
            + "the last event it was sent precedes vm_seq " + event.getVmSeq() + " of VM " + event.getVmId()
            + "; watch again and reconcile with ListVms"));
        return;
      }
      // a write to a stream the caller has cancelled fails: that ends the watch too
      response.write(event).onFailure(e -> end("a write failed (" + e.getMessage() + ")"));
    }

    /** On the caller's loop: stops writing and, on the agent's loop, removes the watcher. */
    void end(String why) {
      if (ended) {
        return;
      }
      ended = true;
      release.run();
      agent.runOnContext(v -> {
        if (unwatch != null) {
          unwatch.run();
          unwatch = null;
        }
        LOG.info("WatchEvents stream on {} ended: {}", filter(), why);
      });
    }

    private String filter() {
      return vmId.isEmpty() ? "every VM" : "VM " + vmId;
    }
  }

  private static void requireVmId(String vmId) {
    if (vmId.isEmpty()) {
      throw Statuses.invalid("vm_id is required");
    }
    try {
      SpecValidator.validateVmId(vmId);
    } catch (InvalidSpecException e) {
      // the validator quotes the value escaped and cut short: a raw id could carry newlines or
      // be too long for the status header
      throw Statuses.invalid(e.getMessage());
    }
  }

  /**
   * Runs {@code command} once the fence admits {@code epoch} (a uint64: above 2^63-1 it arrives
   * negative, and is refused). On the agent's loop: the order of these calls is the order of commands.
   */
  private <T> Future<T> fenced(String method, String vmId, long epoch, Supplier<Future<T>> command) {
    if (epoch < 0) {
      throw Statuses.invalid("leader_epoch must be at most " + Long.MAX_VALUE + ", was " + Long.toUnsignedString(epoch));
    }
    return fence.admit(epoch).onFailure(e -> {
      if (e instanceof FenceException refused) {
        refusals.refused(nodeId, method, vmId, refused);
      }
    }).compose(admitted -> command.get());
  }

  /** A VM as GetVm and ListVms answer it: with its NICs' addresses from the node's neighbour table. */
  private AgentVm view(AgentVm vm) {
    return VmViews.with(vm, neighbours::addressesOf);
  }

  /** Runs the call on the agent's loop; answers on the caller's, with errors mapped to statuses. */
  private <T> Future<T> checked(Supplier<Future<T>> call) {
    return OnContext.call(agent, call).recover(e -> Future.failedFuture(Statuses.toStatus(e)));
  }
}
