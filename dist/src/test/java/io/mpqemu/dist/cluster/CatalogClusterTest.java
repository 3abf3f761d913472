package io.mpqemu.dist.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.ByteString;
import io.mpqemu.testing.Await;
import io.mpqemu.v1.CatalogImage;
import io.mpqemu.v1.ImageUpload;
import io.mpqemu.v1.ImportImageRequest;
import io.mpqemu.v1.ImportImageResponse;
import io.mpqemu.v1.ImportTarget;
import io.mpqemu.v1.ListCatalogRequest;
import io.mpqemu.v1.NodeCatalog;
import io.mpqemu.v1.NodeImageResult;
import io.mpqemu.v1.VmServiceGrpcClient;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/**
 * An import through the control plane to three agents, each a JVM on a host of its own, one of which has
 * too little room for the image (its catalog on a small tmpfs, as a full disk would be).
 */
class CatalogClusterTest {

  private static final int IMAGE_BYTES = 24 << 20;

  private ThreeHosts c;
  private Path smallCatalog;

  @BeforeEach
  void start() throws Exception {
    c = new ThreeHosts(false, List.of("agent-a", "agent-b", "agent-c"));
    smallCatalog = c.stateDir("agent-c").resolve("catalog");
    Files.createDirectories(smallCatalog);
    run("mount", "-t", "tmpfs", "-o", "size=8m,mode=0700", "tmpfs", smallCatalog.toString());
    c.startControlPlane();
    for (String node : List.of("agent-a", "agent-b", "agent-c")) {
      c.startAgent(node);
    }
    Await.atMost(ThreeHosts.DEADLINE).every(Duration.ofMillis(200)).until(this::catalogs, n -> n.size() == 3,
        n -> "nodes READY: " + n.keySet());
  }

  @AfterEach
  void stop() throws Exception {
    try {
      if (c != null) {
        c.close();
      }
    } finally {
      run("umount", "-l", smallCatalog.toString());
      // the hosts' root could not go while the tmpfs was mounted in it: what is left goes now
      if (c != null && Files.exists(c.root)) {
        try (var files = Files.walk(c.root)) {
          files.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
      }
    }
  }

  @Test
  @DisplayName("a node without room refuses (RESOURCE_EXHAUSTED, saying how much it has) while the others take the"
      + " image; the answer says which; once it has room, an import to it alone completes and it lists the same image")
  void oneNodeFullThenRetriedAlone() throws Exception {
    byte[] image = new byte[IMAGE_BYTES];
    ThreadLocalRandom.current().nextBytes(image);
    ImageUpload upload = ImageUpload.newBuilder().setName("data-1").setFormat("raw")
        .setSha256(HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(image)))
        .setSizeBytes(image.length).build();

    Map<String, NodeImageResult> first = byNode(importTo(ImportTarget.newBuilder().setUpload(upload).build(), image));

    assertThat(first.keySet()).containsExactlyInAnyOrder("agent-a", "agent-b", "agent-c");
    assertThat(first.get("agent-a").getStatus()).isEqualTo("OK");
    assertThat(first.get("agent-b").getStatus()).isEqualTo("OK");
    assertThat(first.get("agent-c").getStatus()).isEqualTo("RESOURCE_EXHAUSTED");
    assertThat(first.get("agent-c").getMessage()).contains("has room for").contains("not the " + IMAGE_BYTES + " of 'data-1'");
    Map<String, NodeCatalog> listed = catalogs();
    assertThat(listed.get("agent-a").getImagesList()).extracting(CatalogImage::getName).containsExactly("data-1");
    assertThat(listed.get("agent-b").getImagesList()).extracting(CatalogImage::getName).containsExactly("data-1");
    assertThat(listed.get("agent-c").getImagesList()).as("never half visible").isEmpty();
    try (var left = Files.list(smallCatalog.resolve(".incoming"))) {
      assertThat(left).as("nothing half-written is left").isEmpty();
    }

    run("mount", "-o", "remount,size=64m", smallCatalog.toString());
    Map<String, NodeImageResult> retry = byNode(importTo(ImportTarget.newBuilder().setUpload(upload)
        .addNodes("agent-c").build(), image));

    assertThat(retry.keySet()).containsExactly("agent-c");
    assertThat(retry.get("agent-c").getStatus()).as(retry.get("agent-c").getMessage()).isEqualTo("OK");
    assertThat(retry.get("agent-c").getImage().getSha256()).isEqualTo(upload.getSha256());
    assertThat(catalogs().values()).allSatisfy(n -> assertThat(n.getImagesList()).singleElement()
        .satisfies(i -> assertThat(i.getSha256()).isEqualTo(upload.getSha256())));
  }

  private ImportImageResponse importTo(ImportTarget target, byte[] image) {
    return ThreeHosts.await(c.grpcClient().request(c.address(), VmServiceGrpcClient.ImportImage).compose(req -> {
      req.write(ImportImageRequest.newBuilder().setTarget(target).build());
      for (int i = 0; i < image.length; i += 1 << 20) {
        req.write(ImportImageRequest.newBuilder().setData(ByteString.copyFrom(image, i, Math.min(1 << 20,
            image.length - i))).build());
      }
      req.end();
      return req.response().compose(resp -> resp.last());
    }));
  }

  private static Map<String, NodeImageResult> byNode(ImportImageResponse answer) {
    return answer.getResultsList().stream().collect(Collectors.toMap(NodeImageResult::getNode, r -> r));
  }

  private Map<String, NodeCatalog> catalogs() {
    return c.call(VmServiceGrpcClient.ListCatalog, ListCatalogRequest.getDefaultInstance()).getNodesList().stream()
        .collect(Collectors.toMap(NodeCatalog::getNode, n -> n));
  }

  private static void run(String... argv) throws Exception {
    Process p = new ProcessBuilder(argv).inheritIO().start();
    assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
    assertThat(p.exitValue()).as(String.join(" ", argv)).isZero();
  }
}
