package io.mpqemu.grpc;

import io.vertx.core.Future;
import io.vertx.core.net.Address;
import io.vertx.grpc.client.GrpcClient;
import io.vertx.grpc.client.GrpcClientResponse;
import io.vertx.grpc.common.GrpcStatus;
import io.vertx.grpc.common.ServiceMethod;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

/**
 * Unary calls that keep the server's status message: the generated clients report only the code.
 * A non-OK answer fails the future with {@link GrpcCallException}.
 */
public final class UnaryCalls {

  private UnaryCalls() {}

  public static <Req, Resp> Future<Resp> call(GrpcClient client, Address server, ServiceMethod<Resp, Req> method,
      Req request, Duration deadline) {
    return client.request(server, method).compose(req -> {
      req.timeout(deadline.toMillis(), TimeUnit.MILLISECONDS);
      req.end(request);
      return req.response().compose(resp -> {
        Future<Resp> last = resp.last();
        return last.recover(e -> Future.failedFuture(statusOf(resp, e)));
      });
    });
  }

  /**
   * As above, after {@code peerCheck} accepted the connection's TLS session: it answers why the
   * server is not the one meant (the call then fails with a {@link WrongPeerException} and nothing
   * is sent), or null.
   */
  public static <Req, Resp> Future<Resp> call(GrpcClient client, Address server, ServiceMethod<Resp, Req> method,
      Req request, Duration deadline, java.util.function.Function<javax.net.ssl.SSLSession, String> peerCheck) {
    return client.request(server, method).compose(req -> {
      String wrong = peerCheck.apply(req.connection().sslSession());
      if (wrong != null) {
        try {
          req.cancel(); // nothing was sent: this only frees the stream
        } catch (RuntimeException ignored) {
          // already gone
        }
        return Future.failedFuture(new WrongPeerException(wrong));
      }
      req.timeout(deadline.toMillis(), TimeUnit.MILLISECONDS);
      req.end(request);
      return req.response().compose(resp -> {
        Future<Resp> last = resp.last();
        return last.recover(e -> Future.failedFuture(statusOf(resp, e)));
      });
    });
  }

  /** The server's TLS identity is not the one the call was meant for. */
  public static final class WrongPeerException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public WrongPeerException(String message) {
      super(message);
    }
  }

  private static Throwable statusOf(GrpcClientResponse<?, ?> resp, Throwable e) {
    GrpcStatus status = resp.status();
    if (status != null && status != GrpcStatus.OK) {
      return new GrpcCallException(status, resp.statusMessage());
    }
    return e;
  }
}
