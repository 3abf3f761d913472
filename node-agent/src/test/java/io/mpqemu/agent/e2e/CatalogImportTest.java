package io.mpqemu.agent.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.ByteString;
import io.mpqemu.grpc.GrpcCallException;
import io.mpqemu.grpc.StatusMessages;
import io.mpqemu.testing.Await;
import io.mpqemu.v1.CatalogImage;
import io.mpqemu.v1.DeleteImageRequest;
import io.mpqemu.v1.ImageUpload;
import io.mpqemu.v1.ImportImageChunk;
import io.mpqemu.v1.ListImagesRequest;
import io.mpqemu.v1.NodeAgentServiceGrpcClient;
import io.vertx.core.Future;
import io.vertx.grpc.common.GrpcStatus;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/** ImportImage, ListImages and DeleteImage on a real agent, over gRPC. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class CatalogImportTest {

  private AgentHarness agent;
  private byte[] image;

  @BeforeAll
  void start() throws Exception {
    agent = new AgentHarness().startInProcess();
    image = Files.readAllBytes(agent.imageRoot.resolve(agent.bootImage("boot.img", "Hello from the catalog", false)));
  }

  @AfterAll
  void stop() throws Exception {
    agent.close();
  }

  private static String sha256(byte[] data) throws Exception {
    return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(data));
  }

  private Future<CatalogImage> upload(ImageUpload declared, byte[] data, int chunk) {
    return agent.importImageAsync(declared, data, chunk);
  }

  private GrpcCallException refused(Future<?> call) {
    Throwable e = Await.failure(call);
    assertThat(e).isInstanceOf(GrpcCallException.class);
    return (GrpcCallException) e;
  }

  private List<String> incoming() throws Exception {
    try (Stream<Path> s = Files.list(agent.stateDir.resolve("catalog/.incoming"))) {
      return s.map(p -> p.getFileName().toString()).toList();
    }
  }

  @Test
  @DisplayName("an image imported in chunks is listed with its checksum and sizes, refuses a second import of its"
      + " name, and is gone once deleted")
  void importListDelete() throws Exception {
    ImageUpload declared = ImageUpload.newBuilder().setName("hello").setFormat("raw").setSha256(sha256(image))
        .setSizeBytes(image.length).build();

    CatalogImage imported = AgentHarness.result(upload(declared, image, 100_000));

    assertThat(imported.getSha256()).isEqualTo(sha256(image));
    assertThat(imported.getVirtualSizeBytes()).isEqualTo(image.length);
    assertThat(agent.call(NodeAgentServiceGrpcClient.ListImages, ListImagesRequest.getDefaultInstance()).getImagesList())
        .containsExactly(imported);
    GrpcCallException again = refused(upload(declared, image, 100_000));
    assertThat(again.status()).isEqualTo(GrpcStatus.ALREADY_EXISTS);

    agent.call(NodeAgentServiceGrpcClient.DeleteImage, DeleteImageRequest.newBuilder().setName("hello").build());
    assertThat(agent.call(NodeAgentServiceGrpcClient.ListImages, ListImagesRequest.getDefaultInstance()).getImagesList())
        .isEmpty();
    GrpcCallException gone = refused(agent.grpcClient().request(agent.address(), NodeAgentServiceGrpcClient.DeleteImage)
        .compose(r -> r.send(DeleteImageRequest.newBuilder().setName("hello").build()))
        .compose(resp -> resp.last().recover(e -> Future.failedFuture(new GrpcCallException(resp.status(),
            StatusMessages.of(resp))))));
    assertThat(gone.status()).isEqualTo(GrpcStatus.NOT_FOUND);
  }

  @Test
  @DisplayName("a wrong checksum, a truncated upload, a bad name or a chunk over the bound: refused, nothing left")
  void refusals() throws Exception {
    ImageUpload.Builder good = ImageUpload.newBuilder().setName("bad").setFormat("raw").setSha256(sha256(image))
        .setSizeBytes(image.length);

    GrpcCallException sum = refused(upload(good.clone().setSha256(sha256(new byte[1])).build(), image, 65536));
    assertThat(sum.status()).isEqualTo(GrpcStatus.INVALID_ARGUMENT);
    assertThat(sum.serverMessage()).contains("the bytes received have sha256");
    GrpcCallException cut = refused(upload(good.build(), Arrays.copyOf(image, image.length / 2), 65536));
    assertThat(cut.serverMessage()).contains("ended after " + image.length / 2);
    assertThat(refused(upload(good.clone().setName("../x").build(), image, 65536)).serverMessage())
        .contains("not a catalog name");
    assertThat(refused(upload(good.build(), new byte[2 * 1024 * 1024], 2 * 1024 * 1024)).serverMessage())
        .contains("at most 1048576 bytes");

    assertThat(agent.call(NodeAgentServiceGrpcClient.ListImages, ListImagesRequest.getDefaultInstance()).getImagesList())
        .isEmpty();
    Await.atMost(java.time.Duration.ofSeconds(10)).until(this::incomingUnchecked, List::isEmpty,
        left -> "partial files left: " + left);
  }

  private List<String> incomingUnchecked() {
    try {
      return incoming();
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }
}
