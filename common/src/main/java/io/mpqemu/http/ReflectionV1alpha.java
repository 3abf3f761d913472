package io.mpqemu.http;

import com.google.protobuf.Descriptors.ServiceDescriptor;
import io.mpqemu.reflection.v1alpha.ServerReflectionProto;
import io.vertx.core.Handler;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.grpc.common.GrpcMessageDecoder;
import io.vertx.grpc.common.GrpcMessageEncoder;
import io.vertx.grpc.common.ServiceMethod;
import io.vertx.grpc.common.ServiceName;
import io.vertx.grpc.reflection.ReflectionService;
import io.vertx.grpc.reflection.v1.ServerReflectionRequest;
import io.vertx.grpc.reflection.v1.ServerReflectionResponse;
import io.vertx.grpc.server.GrpcServer;
import io.vertx.grpc.server.GrpcServerRequest;
import io.vertx.grpc.server.Service;
import java.util.List;

/**
 * Server reflection under its older name, {@code grpc.reflection.v1alpha.ServerReflection}, which older
 * grpcurl, Postman, evans and the Node reflection client ask for. Vert.x serves only
 * {@code grpc.reflection.v1}; v1alpha's messages are v1's under another package (same fields, same
 * numbers), so they are the same bytes on the wire. This service therefore binds Vert.x's own v1
 * handler to the v1alpha method path: requests are decoded as v1 messages, answered by Vert.x from the
 * server's registered services, and the v1 answers are read by the client as v1alpha ones.
 */
final class ReflectionV1alpha implements Service {

  static final ServiceName NAME = ServiceName.create("grpc.reflection.v1alpha", "ServerReflection");
  private static final ServiceDescriptor DESCRIPTOR =
      ServerReflectionProto.getDescriptor().findServiceByName("ServerReflection");
  private static final ServiceMethod<ServerReflectionRequest, ServerReflectionResponse> METHOD =
      ServiceMethod.server(NAME, "ServerReflectionInfo", GrpcMessageEncoder.encoder(),
          GrpcMessageDecoder.decoder(ServerReflectionRequest.newBuilder()));

  @Override
  public ServiceName name() {
    return NAME;
  }

  @Override
  public ServiceDescriptor descriptor() {
    return DESCRIPTOR;
  }

  @Override
  public void bind(GrpcServer server) {
    ReflectionService.v1().bind(new RenamingServer(server));
  }

  /**
   * Hands Vert.x's v1 reflection service the real server for everything it reads (the registered
   * services it describes) but registers its one handler under the v1alpha method instead.
   */
  private static final class RenamingServer implements GrpcServer {
    private final GrpcServer server;

    RenamingServer(GrpcServer server) {
      this.server = server;
    }

    @Override
    @SuppressWarnings("unchecked")
    public <Req, Resp> GrpcServer callHandler(ServiceMethod<Req, Resp> method,
        Handler<GrpcServerRequest<Req, Resp>> handler) {
      // The only handler ReflectionService.v1() registers is ServerReflectionInfo's, typed with v1's messages.
      server.callHandler(METHOD, (Handler<GrpcServerRequest<ServerReflectionRequest, ServerReflectionResponse>>)
          (Handler<?>) handler);
      return this;
    }

    @Override
    public List<Service> services() {
      return server.services();
    }

    @Override
    public GrpcServer callHandler(Handler<GrpcServerRequest<io.vertx.core.buffer.Buffer, io.vertx.core.buffer.Buffer>> h) {
      throw new UnsupportedOperationException("only the reflection method is registered through this view");
    }

    @Override
    public GrpcServer addService(Service service) {
      throw new UnsupportedOperationException("only the reflection method is registered through this view");
    }

    @Override
    public void handle(HttpServerRequest request) {
      server.handle(request);
    }
  }
}
