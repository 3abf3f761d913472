package io.mpqemu.agent.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.util.JsonFormat;
import io.mpqemu.testing.Await;
import io.mpqemu.v1.NodeHeartbeat;
import io.vertx.core.json.JsonObject;
import io.vertx.grpc.common.GrpcMessageDecoder;
import io.vertx.grpc.common.GrpcMessageEncoder;
import io.vertx.grpc.common.ServiceMethod;
import io.vertx.grpc.common.ServiceName;
import io.vertx.grpc.health.v1.HealthCheckRequest;
import io.vertx.grpc.health.v1.HealthCheckResponse;
import io.vertx.grpc.reflection.v1.ServerReflectionRequest;
import io.vertx.grpc.reflection.v1.ServerReflectionResponse;
import io.vertx.grpc.reflection.v1.ServiceResponse;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

@DisplayName("The agent's gRPC server offers reflection and the standard health service")
class ApiSurfaceTest extends InProcessAgentTest {

  @Test
  @DisplayName("the agent announces itself on mpqemu.node.heartbeat with its endpoint and what it offers, every interval")
  void heartbeats() throws Exception {
    List<NodeHeartbeat> beats = new CopyOnWriteArrayList<>();
    agent.vertx().eventBus().<JsonObject>consumer("mpqemu.node.heartbeat", m -> {
      NodeHeartbeat.Builder b = NodeHeartbeat.newBuilder();
      try {
        JsonFormat.parser().merge(m.body().encode(), b);
      } catch (Exception e) {
        throw new IllegalStateException(e);
      }
      beats.add(b.build());
    });

    Await.atMost(Duration.ofSeconds(10)).every(Duration.ofMillis(50)).poll(beats::size, n -> n >= 2);

    assertThat(beats).hasSizeGreaterThanOrEqualTo(2);
    NodeHeartbeat beat = beats.get(0);
    assertThat(beat.getNodeId()).isEqualTo("test-node");
    assertThat(beat.getEndpoint()).isEqualTo("unix:" + agent.socket);
    assertThat(beat.getInfo().getMultiprocessSupported()).isTrue();
    assertThat(beat.getInfo().getCapacity().getMemoryMib()).isEqualTo(4096);
    assertThat(beats.get(1).getTime().getSeconds() * 1000 + beats.get(1).getTime().getNanos() / 1_000_000
        - beat.getTime().getSeconds() * 1000 - beat.getTime().getNanos() / 1_000_000).as("about the 3 s interval").isBetween(2000L, 7000L);
  }

  @Test
  @DisplayName("grpc.health.v1.Health/Check answers SERVING for mpqemu.v1.NodeAgentService")
  void health() {
    ServiceMethod<HealthCheckResponse, HealthCheckRequest> check = ServiceMethod.client(
        ServiceName.create("grpc.health.v1", "Health"), "Check",
        GrpcMessageEncoder.encoder(), GrpcMessageDecoder.decoder(HealthCheckResponse.newBuilder()));

    HealthCheckResponse answer = agent.call(check,
        HealthCheckRequest.newBuilder().setService("mpqemu.v1.NodeAgentService").build());

    assertThat(answer.getStatus()).isEqualTo(HealthCheckResponse.ServingStatus.SERVING);
  }

  @Test
  @DisplayName("server reflection lists NodeAgentService, so grpcurl works without our .proto files")
  void reflection() {
    ServiceMethod<ServerReflectionResponse, ServerReflectionRequest> info = ServiceMethod.client(
        ServiceName.create("grpc.reflection.v1", "ServerReflection"), "ServerReflectionInfo",
        GrpcMessageEncoder.encoder(), GrpcMessageDecoder.decoder(ServerReflectionResponse.newBuilder()));

    ServerReflectionResponse answer = agent.call(info, ServerReflectionRequest.newBuilder().setListServices("").build());

    List<String> services = answer.getListServicesResponse().getServiceList().stream().map(ServiceResponse::getName).toList();
    assertThat(services).contains("mpqemu.v1.NodeAgentService");
  }
}
