package io.mpqemu.grpc;

import io.vertx.core.Future;
import io.vertx.core.net.Address;
import io.vertx.grpc.client.GrpcClient;
import io.vertx.grpc.client.GrpcClientResponse;
import io.vertx.grpc.common.ServiceMethod;

/**
 * Opens a server-streaming call with its response registered before the request is sent. The
 * generated clients (vertx-grpc 5.0.7) ask for the response only once the request's write completes;
 * a fast server's whole answer (its messages and its end) can arrive before that, with no handler to
 * take it, and the caller waits forever. Set the handlers in a callback of the returned future: it
 * runs on the stream's event loop before any message is delivered.
 */
public final class ServerStreams {

  private ServerStreams() {}

  public static <Req, Resp> Future<GrpcClientResponse<Req, Resp>> open(GrpcClient client, Address server,
      ServiceMethod<Resp, Req> method, Req request) {
    return client.request(server, method).compose(req -> {
      Future<GrpcClientResponse<Req, Resp>> response = req.response();
      req.end(request);
      return response;
    });
  }
}
