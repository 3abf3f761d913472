package io.mpqemu.controlplane.dispatch;

import io.mpqemu.fleet.ClusterTls;
import io.mpqemu.fleet.Role;
import io.mpqemu.grpc.MessageLimits;
import io.mpqemu.grpc.GrpcCallException;
import io.mpqemu.grpc.UnaryCalls;
import io.mpqemu.net.Endpoint;
import com.google.protobuf.ByteString;
import io.mpqemu.grpc.ConsoleCall;
import io.mpqemu.v1.AgentConsoleInput;
import io.mpqemu.v1.AgentConsoleLogRequest;
import io.mpqemu.v1.AgentConsoleOpen;
import io.mpqemu.v1.ConsoleAttachOptions;
import io.mpqemu.v1.CatalogImage;
import io.mpqemu.v1.ConsoleOutput;
import io.mpqemu.v1.DeleteImageRequest;
import io.mpqemu.v1.ImageUpload;
import io.mpqemu.v1.ImportImageChunk;
import io.mpqemu.v1.ListImagesRequest;
import io.mpqemu.v1.ListImagesResponse;
import io.vertx.grpc.client.GrpcClientRequest;
import io.mpqemu.v1.AgentDeleteVmRequest;
import io.mpqemu.v1.AgentStopVmRequest;
import io.mpqemu.v1.AgentVm;
import io.mpqemu.v1.GetConsoleLogResponse;
import io.mpqemu.v1.LaunchVmRequest;
import io.mpqemu.v1.ListAgentVmsRequest;
import io.mpqemu.v1.NodeAgentServiceGrpcClient;
import io.mpqemu.v1.VmSpec;
import io.vertx.core.Future;
import io.vertx.core.MultiMap;
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
import java.util.function.Consumer;

/**
 * Calls node agents by endpoint ({@code unix:/path} or {@code tcp:host:port}); under TLS the agent must
 * prove with its certificate that it is the node the call is meant for. Every call has a
 * deadline; a call that could not reach the agent (no answer, UNAVAILABLE) is retried with
 * exponential back-off. Every command is idempotent on the agent (a VM id with its spec), so a retry
 * never launches twice.
 */
public final class AgentClients {

  private static final Set<GrpcStatus> RETRIED = Set.of(GrpcStatus.UNAVAILABLE);
  private static final int ATTEMPTS = 4;

  private static final org.slf4j.Logger REFUSED = org.slf4j.LoggerFactory.getLogger("io.mpqemu.fleet.Refused");

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
    // with the message limit a full 1 MiB console tail needs: see MessageLimits
    GrpcClientOptions options = MessageLimits.clientOptions().setScheduleDeadlineAutomatically(true);
    this.grpc = GrpcClient.client(vertx, options);
    this.secure = tls == null ? null
        : GrpcClient.client(vertx, options, tls.client("node-agent call", EnumSet.of(Role.NODE_AGENT)));
  }

  /**
   * An agent to call: the node id it must prove (under TLS its certificate's CN must be this id, so a
   * certificate of one node cannot answer for another) and the endpoint it announced.
   */
  public record Target(String nodeId, String endpoint) {
    public static Target of(String nodeId, String endpoint) {
      return new Target(nodeId, endpoint);
    }
  }

  /** Launches the VM; {@code epoch} is this control plane's leader epoch (0 when it is alone on its store). */
  public Future<AgentVm> launch(Target endpoint, String vmId, VmSpec spec, long revision, long epoch) {
    return call(endpoint, NodeAgentServiceGrpcClient.LaunchVm, LaunchVmRequest.newBuilder().setVmId(vmId).setSpec(spec)
        .setSpecRevision(revision).setLeaderEpoch(epoch).build());
  }

  public Future<AgentVm> stop(Target endpoint, String vmId, int timeoutSeconds, boolean force, long epoch) {
    return call(endpoint, NodeAgentServiceGrpcClient.StopVm, AgentStopVmRequest.newBuilder().setVmId(vmId)
        .setTimeoutSeconds(timeoutSeconds).setForce(force).setLeaderEpoch(epoch).build());
  }

  public Future<Void> delete(Target endpoint, String vmId, boolean force, long epoch) {
    return call(endpoint, NodeAgentServiceGrpcClient.DeleteVm,
        AgentDeleteVmRequest.newBuilder().setVmId(vmId).setForce(force).setLeaderEpoch(epoch).build()).mapEmpty();
  }

  public Future<List<AgentVm>> list(Target endpoint) {
    return call(endpoint, NodeAgentServiceGrpcClient.ListVms, ListAgentVmsRequest.getDefaultInstance())
        .map(r -> r.getVmsList());
  }

  public Future<GetConsoleLogResponse> console(Target endpoint, String vmId, int maxBytes) {
    return call(endpoint, NodeAgentServiceGrpcClient.GetConsoleLog,
        AgentConsoleLogRequest.newBuilder().setVmId(vmId).setMaxBytes(maxBytes).build());
  }

  /**
   * Opens a console session on the VM's node, for {@code onBehalfOf} (shown to the node's other
   * sessions); {@code output} gets what the node sends. Not retried: a console is interactive.
   */
  public Future<ConsoleCall<AgentConsoleInput>> attachConsole(Target target, String vmId, ConsoleAttachOptions options,
      String onBehalfOf, Consumer<ConsoleOutput> output) {
    SocketAddress address;
    try {
      address = address(target.endpoint());
    } catch (IllegalArgumentException e) {
      return Future.failedFuture(e);
    }
    boolean tls = secure != null && address.isInetSocket();
    MultiMap headers = MultiMap.caseInsensitiveMultiMap().add(CONSOLE_USER, onBehalfOf);
    AgentConsoleInput open = AgentConsoleInput.newBuilder()
        .setOpen(AgentConsoleOpen.newBuilder().setVmId(vmId).setOptions(options)).build();
    return ConsoleCall.open(tls ? secure : grpc, address, NodeAgentServiceGrpcClient.AttachConsole, headers, open,
        bytes -> AgentConsoleInput.newBuilder().setData(ByteString.copyFrom(bytes)).build(), output,
        tls ? session -> wrongNode(target, session) : null);
  }

  /**
   * An import stream to a node's catalog, its declaration sent; the caller writes the bytes and ends it.
   * Not retried: the bytes are the caller's to send again.
   */
  public Future<GrpcClientRequest<ImportImageChunk, CatalogImage>> importImage(Target target, ImageUpload upload) {
    SocketAddress address;
    try {
      address = address(target.endpoint());
    } catch (IllegalArgumentException e) {
      return Future.failedFuture(e);
    }
    boolean tls = secure != null && address.isInetSocket();
    return (tls ? secure : grpc).request(address, NodeAgentServiceGrpcClient.ImportImage).compose(req -> {
      String wrong = tls ? wrongNode(target, req.connection().sslSession()) : null;
      if (wrong != null) {
        req.cancel();
        return Future.failedFuture(new UnaryCalls.WrongPeerException(wrong));
      }
      req.write(ImportImageChunk.newBuilder().setUpload(upload).build());
      return Future.succeededFuture(req);
    });
  }

  public Future<List<CatalogImage>> listImages(Target target) {
    return call(target, NodeAgentServiceGrpcClient.ListImages, ListImagesRequest.getDefaultInstance())
        .map(ListImagesResponse::getImagesList);
  }

  public Future<Void> deleteImage(Target target, String name) {
    return call(target, NodeAgentServiceGrpcClient.DeleteImage, DeleteImageRequest.newBuilder().setName(name).build())
        .mapEmpty();
  }

  /** The header that tells an agent whom a relayed console session is for (it shows it, and trusts it only from a peer). */
  public static final String CONSOLE_USER = "mpqemu-console-user";

  public Future<Void> close() {
    return secure == null ? grpc.close() : Future.join(grpc.close(), secure.close()).mapEmpty();
  }

  private <Req, Resp> Future<Resp> call(Target target, ServiceMethod<Resp, Req> method, Req request) {
    SocketAddress address;
    try {
      address = address(target.endpoint());
    } catch (IllegalArgumentException e) {
      return Future.failedFuture(e);
    }
    Promise<Resp> result = Promise.promise();
    attempt(target, address, method, request, 1, result);
    return result.future();
  }

  private <Req, Resp> void attempt(Target target, SocketAddress address, ServiceMethod<Resp, Req> method, Req request, int n,
      Promise<Resp> result) {
    boolean tls = secure != null && address.isInetSocket();
    Future<Resp> call = tls
        ? UnaryCalls.call(secure, address, method, request, deadline, session -> wrongNode(target, session))
        : UnaryCalls.call(grpc, address, method, request, deadline);
    call.onComplete(ar -> {
      if (ar.succeeded()) {
        result.complete(ar.result());
      } else if (n < ATTEMPTS && retryable(ar.cause())) {
        vertx.setTimer(200L << (n - 1), t -> attempt(target, address, method, request, n + 1, result));
      } else {
        result.fail(ar.cause());
      }
    });
  }

  /** Why the TLS peer is not {@code target}'s agent, or null when it is. */
  private static String wrongNode(Target target, javax.net.ssl.SSLSession session) {
    String cn = null;
    try {
      if (session != null && session.getPeerCertificates()[0] instanceof java.security.cert.X509Certificate x) {
        cn = ClusterTls.commonName(x);
      }
    } catch (javax.net.ssl.SSLPeerUnverifiedException e) {
      cn = null;
    }
    if (target.nodeId().equals(cn)) {
      return null;
    }
    String message = "node-agent call: refused " + target.endpoint() + ": it presents the certificate of '" + cn
        + "', not of node " + target.nodeId() + " (a node's certificate CN must be its node id)";
    REFUSED.warn(message);
    return message;
  }

  private static boolean retryable(Throwable e) {
    if (e instanceof UnaryCalls.WrongPeerException) {
      return false; // another node's agent answered: retrying reaches it again
    }
    if (e instanceof GrpcCallException gce) {
      return RETRIED.contains(gce.status());
    }
    return true; // could not connect, or the connection broke: the agent never answered
  }

  static SocketAddress address(String endpoint) {
    return Endpoint.parse("agent endpoint", endpoint).socketAddress();
  }
}
