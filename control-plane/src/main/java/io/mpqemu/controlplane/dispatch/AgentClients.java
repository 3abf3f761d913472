package io.mpqemu.controlplane.dispatch;

import io.mpqemu.fleet.ClusterTls;
import io.mpqemu.fleet.Role;
import io.mpqemu.grpc.GrpcCallException;
import io.mpqemu.grpc.UnaryCalls;
import io.mpqemu.v1.AgentConsoleLogRequest;
import io.mpqemu.v1.AgentDeleteVmRequest;
import io.mpqemu.v1.AgentStopVmRequest;
import io.mpqemu.v1.AgentVm;
import io.mpqemu.v1.GetConsoleLogResponse;
import io.mpqemu.v1.LaunchVmRequest;
import io.mpqemu.v1.ListAgentVmsRequest;
import io.mpqemu.v1.NodeAgentServiceGrpcClient;
import io.mpqemu.v1.VmSpec;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.net.SocketAddress;
import io.vertx.grpc.client.GrpcClient;
import io.vertx.grpc.client.GrpcClientOptions;
import io.vertx.grpc.common.GrpcStatus;
import io.vertx.grpc.common.ServiceMethod;
import java.time.Duration;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;

/**
 * Calls node agents by endpoint ({@code unix:/path} or {@code tcp:host:port}). Every call has a
 * deadline; a call that could not reach the agent (no answer, UNAVAILABLE) is retried with
 * exponential back-off. Every command is idempotent on the agent (a VM id with its spec), so a retry
 * never launches twice.
 */
public final class AgentClients {

  private static final Set<GrpcStatus> RETRIED = Set.of(GrpcStatus.UNAVAILABLE);
  private static final int ATTEMPTS = 4;

  private final Vertx vertx;
  private final GrpcClient grpc;
  private final GrpcClient secure;
  private final Duration deadline;

  public AgentClients(Vertx vertx, Duration deadline) {
    this(vertx, deadline, null);
  }

  /**
   * With {@code tls}, TCP endpoints are called under mutual TLS: this control plane's certificate is
   * presented, and only an agent certificate of the cluster CA naming the dialled host is accepted.
   * Without it, TCP endpoints are called in plaintext (loopback agents). UNIX sockets are always plaintext.
   */
  public AgentClients(Vertx vertx, Duration deadline, ClusterTls tls) {
    this.vertx = vertx;
    this.deadline = deadline;
    GrpcClientOptions options = new GrpcClientOptions().setScheduleDeadlineAutomatically(true);
    this.grpc = GrpcClient.client(vertx, options);
    this.secure = tls == null ? null
        : GrpcClient.client(vertx, options, tls.client("node-agent call", EnumSet.of(Role.NODE_AGENT)));
  }

  public Future<AgentVm> launch(String endpoint, String vmId, VmSpec spec, long revision) {
    return call(endpoint, NodeAgentServiceGrpcClient.LaunchVm,
        LaunchVmRequest.newBuilder().setVmId(vmId).setSpec(spec).setSpecRevision(revision).build());
  }

  public Future<AgentVm> stop(String endpoint, String vmId, int timeoutSeconds, boolean force) {
    return call(endpoint, NodeAgentServiceGrpcClient.StopVm, AgentStopVmRequest.newBuilder().setVmId(vmId)
        .setTimeoutSeconds(timeoutSeconds).setForce(force).build());
  }

  public Future<Void> delete(String endpoint, String vmId, boolean force) {
    return call(endpoint, NodeAgentServiceGrpcClient.DeleteVm,
        AgentDeleteVmRequest.newBuilder().setVmId(vmId).setForce(force).build()).mapEmpty();
  }

  public Future<List<AgentVm>> list(String endpoint) {
    return call(endpoint, NodeAgentServiceGrpcClient.ListVms, ListAgentVmsRequest.getDefaultInstance())
        .map(r -> r.getVmsList());
  }

  public Future<GetConsoleLogResponse> console(String endpoint, String vmId, int maxBytes) {
    return call(endpoint, NodeAgentServiceGrpcClient.GetConsoleLog,
        AgentConsoleLogRequest.newBuilder().setVmId(vmId).setMaxBytes(maxBytes).build());
  }

  public Future<Void> close() {
    return secure == null ? grpc.close() : Future.join(grpc.close(), secure.close()).mapEmpty();
  }

  private <Req, Resp> Future<Resp> call(String endpoint, ServiceMethod<Resp, Req> method, Req request) {
    SocketAddress address;
    try {
      address = address(endpoint);
    } catch (IllegalArgumentException e) {
      return Future.failedFuture(e);
    }
    Promise<Resp> result = Promise.promise();
    attempt(address, method, request, 1, result);
    return result.future();
  }

  private <Req, Resp> void attempt(SocketAddress address, ServiceMethod<Resp, Req> method, Req request, int n,
      Promise<Resp> result) {
    GrpcClient client = secure != null && address.isInetSocket() ? secure : grpc;
    UnaryCalls.call(client, address, method, request, deadline).onComplete(ar -> {
      if (ar.succeeded()) {
        result.complete(ar.result());
      } else if (n < ATTEMPTS && retryable(ar.cause())) {
        vertx.setTimer(200L << (n - 1), t -> attempt(address, method, request, n + 1, result));
      } else {
        result.fail(ar.cause());
      }
    });
  }

  private static boolean retryable(Throwable e) {
    if (e instanceof GrpcCallException gce) {
      return RETRIED.contains(gce.status());
    }
    return true; // could not connect, or the connection broke: the agent never answered
  }

  static SocketAddress address(String endpoint) {
    if (endpoint.startsWith("unix:")) {
      return SocketAddress.domainSocketAddress(endpoint.substring(5));
    }
    if (endpoint.startsWith("tcp:")) {
      String hp = endpoint.substring(4);
      int colon = hp.lastIndexOf(':');
      if (colon > 0) {
        try {
          return SocketAddress.inetSocketAddress(Integer.parseInt(hp.substring(colon + 1)),
              hp.substring(0, colon).replace("[", "").replace("]", ""));
        } catch (NumberFormatException e) {
          // fall through
        }
      }
    }
    throw new IllegalArgumentException("agent endpoint must be unix:/path or tcp:host:port, not " + endpoint);
  }
}
