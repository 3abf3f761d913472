package io.mpqemu.agent.bench;

import io.mpqemu.grpc.UnaryCalls;
import io.mpqemu.v1.AgentVm;
import io.mpqemu.v1.AgentDeleteVmRequest;
import io.mpqemu.v1.GetNodeInfoRequest;
import io.mpqemu.v1.LaunchVmRequest;
import io.mpqemu.v1.NodeAgentServiceGrpcClient;
import io.mpqemu.v1.NodeInfo;
import io.mpqemu.v1.AgentStopVmRequest;
import io.mpqemu.v1.VmSpec;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.net.SocketAddress;
import io.vertx.grpc.client.GrpcClient;
import io.vertx.grpc.client.GrpcClientOptions;
import io.vertx.grpc.common.ServiceMethod;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

/** gRPC calls to a node agent over its UNIX socket, as the e2e harness makes them. */
final class AgentClient {

  static final Duration CALL_DEADLINE = Duration.ofSeconds(60);

  private final GrpcClient grpc;
  private final SocketAddress address;

  AgentClient(Vertx vertx, Path socket) {
    this.grpc = GrpcClient.client(vertx, new GrpcClientOptions().setScheduleDeadlineAutomatically(true));
    this.address = SocketAddress.domainSocketAddress(socket.toString());
  }

  <Req, Resp> Future<Resp> callAsync(ServiceMethod<Resp, Req> method, Req request) {
    return UnaryCalls.call(grpc, address, method, request, CALL_DEADLINE);
  }

  Future<AgentVm> launchAsync(String vmId, VmSpec spec) {
    return callAsync(NodeAgentServiceGrpcClient.LaunchVm, LaunchVmRequest.newBuilder().setVmId(vmId).setSpec(spec).build());
  }

  AgentVm launch(String vmId, VmSpec spec) {
    return await(launchAsync(vmId, spec));
  }

  AgentVm stop(String vmId, boolean force) {
    return await(callAsync(NodeAgentServiceGrpcClient.StopVm,
        AgentStopVmRequest.newBuilder().setVmId(vmId).setForce(force).build()));
  }

  void delete(String vmId, boolean force) {
    await(callAsync(NodeAgentServiceGrpcClient.DeleteVm, AgentDeleteVmRequest.newBuilder().setVmId(vmId).setForce(force).build()));
  }

  NodeInfo nodeInfo() {
    return await(callAsync(NodeAgentServiceGrpcClient.GetNodeInfo, GetNodeInfoRequest.getDefaultInstance()));
  }

  static <T> T await(Future<T> f) {
    try {
      return f.toCompletionStage().toCompletableFuture().get(CALL_DEADLINE.toSeconds() + 5, TimeUnit.SECONDS);
    } catch (java.util.concurrent.ExecutionException e) {
      if (e.getCause() instanceof RuntimeException re) {
        throw re;
      }
      throw new IllegalStateException(e.getCause());
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }
}
