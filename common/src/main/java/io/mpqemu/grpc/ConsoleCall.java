package io.mpqemu.grpc;

import io.mpqemu.v1.ConsoleOutput;
import io.vertx.core.Future;
import io.vertx.core.MultiMap;
import io.vertx.core.Promise;
import io.vertx.core.net.Address;
import io.vertx.grpc.client.GrpcClient;
import io.vertx.grpc.client.GrpcClientRequest;
import io.vertx.grpc.common.GrpcStatus;
import io.vertx.grpc.common.ServiceMethod;
import java.util.function.Consumer;
import java.util.function.Function;

/**
 * The client side of an AttachConsole stream, on the agent or on the control plane: it sends the open
 * message, then input; each output message goes to a handler; {@link #ended()} tells how the stream
 * ended (OK, or a {@link GrpcCallException} with the server's status and message).
 *
 * @param <I> the service's input message
 */
public final class ConsoleCall<I> {

  private final GrpcClientRequest<I, ConsoleOutput> request;
  private final Function<byte[], I> data;
  private final Promise<Void> ended = Promise.promise();

  private ConsoleCall(GrpcClientRequest<I, ConsoleOutput> request, Function<byte[], I> data) {
    this.request = request;
    this.data = data;
  }

  /**
   * Opens the stream and sends {@code open}; the future completes once the server answered with its
   * headers (attached) or failed the call (refused).
   *
   * @param headers set on the call (may be empty)
   * @param peerCheck why the TLS peer is not the server meant, or null when it is; null to check nothing
   */
  public static <I> Future<ConsoleCall<I>> open(GrpcClient client, Address server, ServiceMethod<ConsoleOutput, I> method,
      MultiMap headers, I open, Function<byte[], I> data, Consumer<ConsoleOutput> output,
      Function<javax.net.ssl.SSLSession, String> peerCheck) {
    return client.request(server, method).compose(req -> {
      String wrong = peerCheck == null ? null : peerCheck.apply(req.connection().sslSession());
      if (wrong != null) {
        req.cancel();
        return Future.failedFuture(new UnaryCalls.WrongPeerException(wrong));
      }
      req.headers().addAll(headers);
      ConsoleCall<I> call = new ConsoleCall<>(req, data);
      req.write(open);
      return req.response().compose(resp -> {
        resp.handler(output::accept);
        // read once the stream has ended: the status message is known only then
        resp.end().onComplete(ar -> {
          GrpcStatus status = resp.status();
          if (status != null && status != GrpcStatus.OK) {
            call.ended.tryFail(new GrpcCallException(status, StatusMessages.of(resp)));
          } else if (ar.failed()) {
            call.ended.tryFail(ar.cause());
          } else {
            call.ended.tryComplete();
          }
        });
        // a refusal comes as trailers only: the status is known at once
        GrpcStatus status = resp.status();
        if (status != null && status != GrpcStatus.OK) {
          return Future.failedFuture(new GrpcCallException(status, resp.statusMessage()));
        }
        return Future.succeededFuture(call);
      });
    });
  }

  /** Input for the guest (dropped by the server unless this session writes). */
  public Future<Void> send(byte[] bytes) {
    return request.write(data.apply(bytes));
  }

  /** Whether the server has not yet taken what was sent: input beyond it should wait for {@link #drained}. */
  public boolean backedUp() {
    return request.writeQueueFull();
  }

  public void drained(Runnable then) {
    request.drainHandler(v -> then.run());
  }

  /** Leaves the console: the server ends the stream with OK. */
  public void close() {
    request.end();
  }

  /** Leaves at once, without waiting for the server. */
  public void cancel() {
    try {
      request.cancel();
    } catch (RuntimeException ignored) {
      // already gone
    }
    ended.tryComplete();
  }

  /** Completes when the stream ends: OK, or failed with the server's status. */
  public Future<Void> ended() {
    return ended.future();
  }
}
