package io.mpqemu.controlplane.cli;

import io.mpqemu.fleet.ClusterTls;
import io.mpqemu.fleet.Role;
import io.mpqemu.grpc.MessageLimits;
import com.google.protobuf.ByteString;
import io.mpqemu.grpc.ConsoleCall;
import io.mpqemu.grpc.GrpcCallException;
import io.mpqemu.grpc.StatusMessages;
import io.mpqemu.grpc.ServerStreams;
import io.mpqemu.grpc.UnaryCalls;
import io.mpqemu.v1.VmEvent;
import io.mpqemu.v1.VmServiceGrpcClient;
import io.mpqemu.v1.WatchEventsRequest;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.net.SocketAddress;
import io.vertx.grpc.client.GrpcClient;
import io.vertx.grpc.client.GrpcClientRequest;
import io.vertx.grpc.common.GrpcStatus;
import io.vertx.grpc.common.ServiceMethod;
import io.mpqemu.v1.ConsoleInput;
import io.mpqemu.v1.ImportImageRequest;
import io.mpqemu.v1.ImportImageResponse;
import io.mpqemu.v1.ImportTarget;
import io.mpqemu.v1.ConsoleOpen;
import io.mpqemu.v1.ConsoleOutput;
import io.vertx.core.MultiMap;
import java.time.Duration;
import java.util.EnumSet;
import java.util.function.Consumer;

/**
 * One command's connection to the control plane. Calls block the calling (main) thread; a failure is
 * a {@link GrpcCallException} when the server answered, an {@link UnreachableException} when it did not.
 */
final class ControlPlaneConnection implements AutoCloseable {

  static final Duration CALL_DEADLINE = Duration.ofSeconds(60);

  private final Vertx vertx;
  private final GrpcClient grpc;
  private final SocketAddress server;

  /** With {@code tls} (null: plaintext) the server must present a control-plane certificate of the cluster CA. */
  ControlPlaneConnection(SocketAddress server, ClusterTls tls) {
    this.server = server;
    this.vertx = Vertx.builder().with(new VertxOptions().setPreferNativeTransport(true)).build();
    // a full 1 MiB console tail is larger than Vert.x's default message limit: see MessageLimits
    this.grpc = tls == null ? GrpcClient.client(vertx, MessageLimits.clientOptions())
        : GrpcClient.client(vertx, MessageLimits.clientOptions(), tls.client("control-plane API", EnumSet.of(Role.CONTROL_PLANE)));
  }

  <Req, Resp> Resp call(ServiceMethod<Resp, Req> method, Req request) {
    return await(UnaryCalls.call(grpc, server, method, request, CALL_DEADLINE));
  }

  /** Streams events to {@code sink} (on an event loop) until the server ends the stream. */
  void watch(WatchEventsRequest request, Consumer<VmEvent> sink) {
    Promise<Void> done = Promise.promise();
    // the handlers are set on the stream's loop as the response arrives: set from this thread, they
    // could come after the replay's first events, which would be lost
    ServerStreams.open(grpc, server, VmServiceGrpcClient.WatchEvents, request, resp -> {
      if (resp.status() != null && resp.status() != GrpcStatus.OK) {
        done.tryFail(new GrpcCallException(resp.status(), resp.statusMessage()));
        return;
      }
      resp.handler(event -> {
        if (done.future().isComplete()) {
          return;
        }
        sink.accept(event);
      });
      resp.exceptionHandler(done::tryFail);
      resp.endHandler(v -> {
        GrpcStatus status = resp.status();
        if (status == null || status == GrpcStatus.OK) {
          done.tryComplete();
        } else {
          done.tryFail(new GrpcCallException(status, StatusMessages.of(resp)));
        }
      });
    }).onFailure(done::tryFail);
    await(done.future());
  }

  /** Opens a console session; {@code output} gets what the server sends, on an event loop. */
  ConsoleCall<ConsoleInput> attachConsole(ConsoleOpen open, Consumer<ConsoleOutput> output) {
    return await(ConsoleCall.open(grpc, server, VmServiceGrpcClient.AttachConsole, MultiMap.caseInsensitiveMultiMap(),
        ConsoleInput.newBuilder().setOpen(open).build(),
        bytes -> ConsoleInput.newBuilder().setData(ByteString.copyFrom(bytes)).build(), output, null));
  }

  /**
   * Streams {@code file} as the image {@code target} names, at most 1 MiB a message, waiting whenever the
   * control plane has not taken the last ones; {@code sent} is told the bytes sent so far.
   */
  ImportImageResponse importImage(ImportTarget target, java.nio.file.Path file, java.util.function.LongConsumer sent)
      throws java.io.IOException {
    GrpcClientRequest<ImportImageRequest, ImportImageResponse> req = await(grpc.request(server, VmServiceGrpcClient.ImportImage));
    Future<ImportImageResponse> answer = req.response().compose(resp -> resp.last().recover(e -> Future.failedFuture(
        resp.status() == null ? e : new GrpcCallException(resp.status(), StatusMessages.of(resp)))));
    req.write(ImportImageRequest.newBuilder().setTarget(target).build());
    try (java.io.InputStream in = java.nio.file.Files.newInputStream(file)) {
      byte[] buf = new byte[1024 * 1024];
      long total = 0;
      int n;
      while ((n = in.readNBytes(buf, 0, buf.length)) > 0 && !answer.isComplete()) {
        await(req.write(ImportImageRequest.newBuilder().setData(ByteString.copyFrom(buf, 0, n)).build()));
        total += n;
        sent.accept(total);
      }
    }
    if (!answer.isComplete()) {
      req.end();
    }
    return await(answer);
  }

  /** Waits for a console session to end: returns when it ended OK, throws as a call does otherwise. */
  void awaitEnd(ConsoleCall<ConsoleInput> call) {
    await(call.ended());
  }

  private static <T> T await(Future<T> future) {
    try {
      return future.await();
    } catch (GrpcCallException e) {
      throw e;
    } catch (Exception e) {
      throw new UnreachableException(e);
    }
  }

  @Override
  public void close() {
    vertx.close().await();
  }
}
