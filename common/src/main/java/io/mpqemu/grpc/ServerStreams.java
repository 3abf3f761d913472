package io.mpqemu.grpc;

import io.vertx.core.Future;
import io.vertx.core.Handler;
import io.vertx.core.net.Address;
import io.vertx.grpc.client.GrpcClient;
import io.vertx.grpc.client.GrpcClientResponse;
import io.vertx.grpc.common.ServiceMethod;

/**
 * Opens a server-streaming call with its handlers in place before any message can arrive. The
 * generated clients (vertx-grpc 5.0.7) ask for the response only once the request's write completes;
 * and a caller that sets its handlers in a callback of the returned future, from its own thread, may
 * attach that callback after the response's headers arrived: a message sent right behind them (a
 * replay) then finds no handler and is dropped. So {@code setup} runs on the stream's event loop the
 * moment the response exists, before any message is delivered; set every handler there.
 */
public final class ServerStreams {

  private ServerStreams() {}

  public static <Req, Resp> Future<GrpcClientResponse<Req, Resp>> open(GrpcClient client, Address server,
      ServiceMethod<Resp, Req> method, Req request, Handler<GrpcClientResponse<Req, Resp>> setup) {
    return client.request(server, method).compose(req -> {
      // registered on the loop before the request goes out, so it runs as the response completes
      Future<GrpcClientResponse<Req, Resp>> response = req.response().andThen(ar -> {
        if (ar.succeeded()) {
          setup.handle(ar.result());
        }
      });
      req.end(request);
      return response;
    });
  }
}
