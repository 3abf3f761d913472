package io.mpqemu.agent.api;

import com.google.protobuf.ByteString;
import io.mpqemu.agent.events.EventHub;
import io.mpqemu.agent.vm.VmManager;
import io.mpqemu.spec.InvalidSpecException;
import io.mpqemu.spec.SpecValidator;
import io.mpqemu.v1.AgentVm;
import io.mpqemu.v1.DeleteVmRequest;
import io.mpqemu.v1.DeleteVmResponse;
import io.mpqemu.v1.GetConsoleLogRequest;
import io.mpqemu.v1.GetConsoleLogResponse;
import io.mpqemu.v1.GetNodeInfoRequest;
import io.mpqemu.v1.GetVmRequest;
import io.mpqemu.v1.LaunchVmRequest;
import io.mpqemu.v1.ListAgentVmsRequest;
import io.mpqemu.v1.ListAgentVmsResponse;
import io.mpqemu.v1.NodeAgentServiceGrpcService;
import io.mpqemu.v1.NodeInfo;
import io.mpqemu.v1.StopVmRequest;
import io.mpqemu.v1.VmEvent;
import io.mpqemu.v1.WatchAgentEventsRequest;
import io.vertx.core.Future;
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
  static final int MAX_CONSOLE_BYTES = 1024 * 1024;
  /** Events a slow WatchEvents caller may have queued before it is cut off. */
  static final int WATCH_QUEUE_LIMIT = 1024;

  private final VmManager vms;
  private final EventHub events;
  private final Supplier<NodeInfo> nodeInfo;

  public NodeAgentGrpcService(VmManager vms, EventHub events, Supplier<NodeInfo> nodeInfo) {
    this.vms = vms;
    this.events = events;
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
  public Future<AgentVm> stopVm(StopVmRequest request) {
    return checked(() -> {
      requireVmId(request.getVmId());
      if (request.getTimeoutSeconds() > MAX_STOP_TIMEOUT_SECONDS) {
        throw Statuses.invalid("timeout_seconds must be at most " + MAX_STOP_TIMEOUT_SECONDS + ", was " + request.getTimeoutSeconds());
      }
      return vms.stop(request.getVmId(), Duration.ofSeconds(request.getTimeoutSeconds()), request.getForce());
    });
  }

  @Override
  public Future<DeleteVmResponse> deleteVm(DeleteVmRequest request) {
    return checked(() -> {
      requireVmId(request.getVmId());
      return vms.delete(request.getVmId(), request.getForce()).map(v -> DeleteVmResponse.getDefaultInstance());
    });
  }

  @Override
  public Future<AgentVm> getVm(GetVmRequest request) {
    return checked(() -> {
      requireVmId(request.getVmId());
      return vms.get(request.getVmId());
    });
  }

  @Override
  public Future<ListAgentVmsResponse> listVms(ListAgentVmsRequest request) {
    return Future.succeededFuture(ListAgentVmsResponse.newBuilder().addAllVms(vms.list()).build());
  }

  @Override
  public Future<GetConsoleLogResponse> getConsoleLog(GetConsoleLogRequest request) {
    return checked(() -> {
      requireVmId(request.getVmId());
      if (request.getMaxBytes() > MAX_CONSOLE_BYTES) {
        throw Statuses.invalid("max_bytes must be at most " + MAX_CONSOLE_BYTES + ", was " + request.getMaxBytes());
      }
      int max = request.getMaxBytes() == 0 ? DEFAULT_CONSOLE_BYTES : request.getMaxBytes();
      return vms.consoleLog(request.getVmId(), max).map(t -> GetConsoleLogResponse.newBuilder()
          .setData(ByteString.copyFrom(t.data())).setTruncated(t.truncated()).build());
    });
  }

  @Override
  public Future<NodeInfo> getNodeInfo(GetNodeInfoRequest request) {
    return Future.succeededFuture(nodeInfo.get());
  }

  @Override
  protected void watchEvents(WatchAgentEventsRequest request, WriteStream<VmEvent> stream) {
    GrpcServerResponse<?, VmEvent> response = (GrpcServerResponse<?, VmEvent>) stream;
    String vmId = request.getVmId();
    if (!vmId.isEmpty() && !isValidVmId(vmId)) {
      response.fail(Statuses.invalid("vm_id '" + vmId + "' is not a valid VM id"));
      return;
    }
    response.setWriteQueueMaxSize(WATCH_QUEUE_LIMIT);
    response.writeHead();
    boolean[] ended = new boolean[1];
    Runnable[] unwatch = {() -> { }};
    unwatch[0] = events.watch(request.getIncludeRecent(), event -> {
      if (ended[0] || !vmId.isEmpty() && !vmId.equals(event.getVmId())) {
        return;
      }
      if (response.writeQueueFull()) {
        ended[0] = true;
        unwatch[0].run();
        response.fail(new StatusException(GrpcStatus.RESOURCE_EXHAUSTED, "the watcher fell too far behind; "
            + "the last event it was sent precedes vm_seq " + event.getVmSeq() + " of VM " + event.getVmId()
            + "; watch again and reconcile with ListVms"));
        return;
      }
      // a write to a stream the caller has cancelled fails: that ends the watch
      response.write(event).onFailure(e -> {
        ended[0] = true;
        unwatch[0].run();
      });
    });
    if (ended[0]) {
      unwatch[0].run();
      return;
    }
    response.exceptionHandler(e -> {
      ended[0] = true;
      unwatch[0].run();
    });
  }

  private static void requireVmId(String vmId) {
    if (vmId.isEmpty()) {
      throw Statuses.invalid("vm_id is required");
    }
    if (!isValidVmId(vmId)) {
      throw Statuses.invalid("vm_id '" + vmId + "' is not valid: use 1 to 63 lowercase letters, digits and '-', starting with a letter or digit");
    }
  }

  private static boolean isValidVmId(String vmId) {
    try {
      SpecValidator.validateVmId(vmId);
      return true;
    } catch (InvalidSpecException e) {
      return false;
    }
  }

  private static <T> Future<T> checked(Supplier<Future<T>> call) {
    Future<T> result;
    try {
      result = call.get();
    } catch (RuntimeException e) {
      result = Future.failedFuture(e);
    }
    return result.recover(e -> Future.failedFuture(Statuses.toStatus(e)));
  }
}
