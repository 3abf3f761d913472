package io.mpqemu.http;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.DescriptorProtos.FileDescriptorProto;
import io.mpqemu.fleet.Role;
import io.mpqemu.testing.Await;
import io.mpqemu.v1.VmServiceGrpcService;
import io.vertx.core.Vertx;
import io.vertx.core.net.SocketAddress;
import io.vertx.grpc.client.GrpcClient;
import io.vertx.grpc.common.GrpcMessageDecoder;
import io.vertx.grpc.common.GrpcMessageEncoder;
import io.vertx.grpc.common.ServiceMethod;
import io.vertx.grpc.common.ServiceName;
import io.vertx.grpc.reflection.v1.ServerReflectionRequest;
import io.vertx.grpc.reflection.v1.ServerReflectionResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.function.Function;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/**
 * Server reflection on a real ServiceListeners, asked by a real gRPC client over a UNIX socket: under
 * grpc.reflection.v1 and under the older grpc.reflection.v1alpha (with v1alpha's own generated messages,
 * as an old grpcurl would), both list the services and fetch a file descriptor by symbol.
 */
class ServiceListenersReflectionTest {

  private static final List<String> SERVICES = List.of("mpqemu.v1.VmService", "grpc.reflection.v1.ServerReflection",
      "grpc.reflection.v1alpha.ServerReflection", "grpc.health.v1.Health");

  private Vertx vertx;
  private ServiceListeners listeners;
  private Path dir;
  private SocketAddress address;

  @BeforeEach
  void start() throws Exception {
    vertx = Vertx.builder().with(new io.vertx.core.VertxOptions().setPreferNativeTransport(true)).build();
    dir = Files.createTempDirectory(Path.of("/tmp"), "mpqemu-refl-");
    listeners = new ServiceListeners(vertx, "test gRPC", io.mpqemu.access.AccessSettings.defaults().policy(java.util.Map.of()));
    VmServiceGrpcService api = new VmServiceGrpcService() { }; // every method UNIMPLEMENTED: only its descriptor matters
    Await.result(listeners.serveGrpc(api, ServiceName.create("mpqemu.v1", "VmService"),
        List.of("unix:" + dir.resolve("api.sock")), null, EnumSet.noneOf(Role.class), java.util.Map.of()));
    address = SocketAddress.domainSocketAddress(dir.resolve("api.sock").toString());
  }

  @AfterEach
  void stop() throws Exception {
    Await.result(listeners.close());
    Await.result(vertx.close());
    Files.deleteIfExists(dir.resolve("api.sock"));
    Files.deleteIfExists(dir);
  }

  @Test
  @DisplayName("v1: lists every service and returns the file that declares mpqemu.v1.VmService")
  void v1() throws Exception {
    ServiceMethod<ServerReflectionResponse, ServerReflectionRequest> method = ServiceMethod.client(
        ServiceName.create("grpc.reflection.v1", "ServerReflection"), "ServerReflectionInfo",
        GrpcMessageEncoder.encoder(), GrpcMessageDecoder.decoder(ServerReflectionResponse.newBuilder()));
    List<ServerReflectionResponse> answers = ask(method, List.of(
        ServerReflectionRequest.newBuilder().setListServices("").build(),
        ServerReflectionRequest.newBuilder().setFileContainingSymbol("mpqemu.v1.VmService").build()));

    assertThat(answers).hasSize(2);
    assertThat(answers.get(0).getListServicesResponse().getServiceList()).extracting(s -> s.getName())
        .containsExactlyInAnyOrderElementsOf(SERVICES);
    assertThat(files(answers.get(1).getFileDescriptorResponse().getFileDescriptorProtoList(), b -> parse(b.toByteArray())))
        .contains("mpqemu/v1/vm_service.proto", "mpqemu/v1/types.proto");
  }

  @Test
  @DisplayName("v1alpha: the same answers, in v1alpha's own messages; its own file is found by its symbol")
  void v1alpha() throws Exception {
    ServiceMethod<io.mpqemu.reflection.v1alpha.ServerReflectionResponse,
        io.mpqemu.reflection.v1alpha.ServerReflectionRequest> method = ServiceMethod.client(
        ServiceName.create("grpc.reflection.v1alpha", "ServerReflection"), "ServerReflectionInfo",
        GrpcMessageEncoder.encoder(),
        GrpcMessageDecoder.decoder(io.mpqemu.reflection.v1alpha.ServerReflectionResponse.newBuilder()));
    List<io.mpqemu.reflection.v1alpha.ServerReflectionResponse> answers = ask(method, List.of(
        io.mpqemu.reflection.v1alpha.ServerReflectionRequest.newBuilder().setListServices("").build(),
        io.mpqemu.reflection.v1alpha.ServerReflectionRequest.newBuilder()
            .setFileContainingSymbol("mpqemu.v1.VmService.CreateVm").build(),
        io.mpqemu.reflection.v1alpha.ServerReflectionRequest.newBuilder()
            .setFileContainingSymbol("grpc.reflection.v1alpha.ServerReflection").build(),
        io.mpqemu.reflection.v1alpha.ServerReflectionRequest.newBuilder()
            .setFileContainingSymbol("mpqemu.v1.NoSuchThing").build()));

    assertThat(answers).hasSize(4);
    assertThat(answers.get(0).getListServicesResponse().getServiceList()).extracting(s -> s.getName())
        .containsExactlyInAnyOrderElementsOf(SERVICES);
    assertThat(answers.get(0).getOriginalRequest().getListServices()).isEmpty();
    assertThat(answers.get(0).getOriginalRequest().hasListServices()).isTrue();
    assertThat(files(answers.get(1).getFileDescriptorResponse().getFileDescriptorProtoList(), b -> parse(b.toByteArray())))
        .contains("mpqemu/v1/vm_service.proto");
    assertThat(files(answers.get(2).getFileDescriptorResponse().getFileDescriptorProtoList(), b -> parse(b.toByteArray())))
        .containsExactly("grpc/reflection/v1alpha/reflection.proto");
    assertThat(answers.get(3).getErrorResponse().getErrorCode()).isEqualTo(5); // NOT_FOUND
  }

  /**
   * Asks each request on a ServerReflectionInfo stream of its own: Vert.x's v1 handler, which answers
   * both versions, ends the stream after one answer (grpcurl's client opens a new stream then).
   */
  private <Req, Resp> List<Resp> ask(ServiceMethod<Resp, Req> method, List<Req> requests) throws Exception {
    GrpcClient client = GrpcClient.client(vertx);
    try {
      List<Resp> answers = new ArrayList<>();
      for (Req request : requests) {
        List<Resp> got = new ArrayList<>();
        Await.result(client.request(address, method).compose(call -> {
          call.end(request);
          return call.response();
        }).compose(resp -> {
          resp.handler(got::add);
          return resp.end();
        }));
        assertThat(got).hasSize(1);
        answers.add(got.get(0));
      }
      return answers;
    } finally {
      Await.result(client.close());
    }
  }

  private static <T> List<String> files(List<T> encoded, Function<T, FileDescriptorProto> parse) {
    return encoded.stream().map(parse).map(FileDescriptorProto::getName).toList();
  }

  private static FileDescriptorProto parse(byte[] bytes) {
    try {
      return FileDescriptorProto.parseFrom(bytes);
    } catch (Exception e) {
      throw new AssertionError(e);
    }
  }
}
