package io.mpqemu.agent.api;

import io.mpqemu.grpc.MessageLimits;
import com.google.protobuf.ByteString;
import io.mpqemu.agent.events.EventHub;
import io.mpqemu.agent.stats.ProcessSampler;
import io.mpqemu.agent.vm.VmManager;
import io.mpqemu.http.OnContext;
import io.mpqemu.spec.InvalidSpecException;
import io.mpqemu.spec.SpecValidator;
import io.mpqemu.v1.AgentConsoleLogRequest;
import io.mpqemu.v1.AgentDeleteVmRequest;
import io.mpqemu.v1.AgentDeleteVmResponse;
import io.mpqemu.v1.AgentGetVmRequest;
import io.mpqemu.v1.AgentStopVmRequest;
import io.mpqemu.v1.AgentVm;
import io.mpqemu.v1.GetConsoleLogResponse;
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
import io.vertx.core.streams.WriteStream;
import io.vertx.grpc.common.GrpcStatus;
import io.vertx.grpc.server.GrpcServerResponse;
import io.vertx.grpc.server.StatusException;
import java.time.Duration;
import java.util.function.Supplier;

/** NodeAgentService: checks each request, hands it to the VM manager, maps errors to status codes. */
public final class NodeAgentGrpcService extends NodeAgentServiceGrpcService {

  static final int MAX_STOP_TIMEOUT_SECONDS = 3600;
  static final int DEFAULT_CONSOLE_BYTES = 64 * 1024;
  static final int MAX_CONSOLE_BYTES = MessageLimits.MAX_CONSOLE_BYTES;
  /** Events a slow WatchEvents caller may have queued before it is cut off. */
  static final int WATCH_QUEUE_LIMIT = 1024;

  private final Context agent;
  private final VmManager vms;
  private final EventHub events;
  private final ProcessSampler figures;
  private final Supplier<NodeInfo> nodeInfo;

  /**
   * @param agent the context that owns all VM state; gRPC requests arrive on other event loops and
   *     are handed over to it, their answers handed back
   * @param figures the last CPU and memory figures of each running process, which GetVm and ListVms show
   */
  public NodeAgentGrpcService(Context agent, VmManager vms, EventHub events, ProcessSampler figures,
      Supplier<NodeInfo> nodeInfo) {
    this.agent = agent;
    this.vms = vms;
    this.events = events;
    this.figures = figures;
    this.nodeInfo = nodeInfo;
  }

  @Override
  public Future<AgentVm> launchVm(LaunchVmRequest request) {
    return checked(() -> {
      requireVmId(request.getVmId());
      if (!request.hasSpec()) {
        throw Statuses.invalid("spec is required");
      }
      return vms.launch(request.getVmId(), request.getSpec(), request.getSpecRevision());
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
      return vms.stop(request.getVmId(), Duration.ofSeconds(timeout), request.getForce());
    });
  }

  @Override
  public Future<AgentDeleteVmResponse> deleteVm(AgentDeleteVmRequest request) {
    return checked(() -> {
      requireVmId(request.getVmId());
      return vms.delete(request.getVmId(), request.getForce()).map(v -> AgentDeleteVmResponse.getDefaultInstance());
    });
  }

  @Override
  public Future<AgentVm> getVm(AgentGetVmRequest request) {
    return checked(() -> {
      requireVmId(request.getVmId());
      return vms.get(request.getVmId()).map(figures::withFigures);
    });
  }

  @Override
  public Future<ListAgentVmsResponse> listVms(ListAgentVmsRequest request) {
    return checked(() -> Future.succeededFuture(ListAgentVmsResponse.newBuilder()
        .addAllVms(vms.list().stream().map(figures::withFigures).toList()).build()));
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

  @Override
  protected void watchEvents(WatchAgentEventsRequest request, WriteStream<VmEvent> stream) {
    GrpcServerResponse<?, VmEvent> response = (GrpcServerResponse<?, VmEvent>) stream;
    String vmId = request.getVmId();
    if (!vmId.isEmpty()) {
      try {
        SpecValidator.validateVmId(vmId);
      } catch (InvalidSpecException e) {
        response.fail(Statuses.invalid(e.getMessage()));
        return;
      }
    }
    Context caller = Vertx.currentContext();
    response.setWriteQueueMaxSize(WATCH_QUEUE_LIMIT);
    response.writeHead();
    Watch watch = new Watch(response);
    response.exceptionHandler(e -> watch.end());
    // registered on the agent's loop, where events are published, so the replay and the live
    // events form one ordered sequence; each is written on the caller's loop, in that order
    agent.runOnContext(v -> watch.unwatch = events.watch(request.getIncludeRecent(), event -> {
      if (vmId.isEmpty() || vmId.equals(event.getVmId())) {
        caller.runOnContext(x -> watch.deliver(event));
      }
    }));
  }

  /** One WatchEvents stream; runs on the caller's event loop. */
  private static final class Watch {
    private final GrpcServerResponse<?, VmEvent> response;
    private volatile Runnable unwatch = () -> { };
    private boolean ended;

    Watch(GrpcServerResponse<?, VmEvent> response) {
      this.response = response;
    }

    void deliver(VmEvent event) {
      if (ended) {
        return;
      }
      if (response.writeQueueFull()) {
        end();
        response.fail(new StatusException(GrpcStatus.RESOURCE_EXHAUSTED, "the watcher fell too far behind; "
            + "the last event it was sent precedes vm_seq " + event.getVmSeq() + " of VM " + event.getVmId()
            + "; watch again and reconcile with ListVms"));
        return;
      }
      // a write to a stream the caller has cancelled fails: that ends the watch
      response.write(event).onFailure(e -> end());
    }

    void end() {
      ended = true;
      unwatch.run();
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

  /** Runs the call on the agent's loop; answers on the caller's, with errors mapped to statuses. */
  private <T> Future<T> checked(Supplier<Future<T>> call) {
    return OnContext.call(agent, call).recover(e -> Future.failedFuture(Statuses.toStatus(e)));
  }
}
