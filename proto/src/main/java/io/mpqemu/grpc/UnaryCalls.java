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

  private static Throwable statusOf(GrpcClientResponse<?, ?> resp, Throwable e) {
    GrpcStatus status = resp.status();
    if (status != null && status != GrpcStatus.OK) {
      return new GrpcCallException(status, resp.statusMessage());
    }
    return e;
  }
}
