package io.mpqemu.dist.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.ByteString;
import io.mpqemu.testing.Await;
import io.mpqemu.v1.DesiredState;
import io.mpqemu.v1.Disk;
import io.mpqemu.v1.GetConsoleLogRequest;
import io.mpqemu.v1.ImageUpload;
import io.mpqemu.v1.ImportImageRequest;
import io.mpqemu.v1.ImportImageResponse;
import io.mpqemu.v1.ImportTarget;
import io.mpqemu.v1.ListCatalogRequest;
import io.mpqemu.v1.ProxiedDevice;
import io.mpqemu.v1.Vm;
import io.mpqemu.v1.VmServiceGrpcClient;
import io.mpqemu.v1.VmSpec;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

@DisplayName("Images imported through the control plane into every node's catalog, and VMs on disks over them")
class CatalogEndToEndTest {

  private Fleet fleet;

  @BeforeEach
  void start() throws Exception {
    fleet = new Fleet().startAgent("node-a", Map.of("zone", "a")).startAgent("node-b", Map.of("zone", "b"))
        .startControlPlane();
    Await.atMost(Fleet.DEADLINE).every(Duration.ofMillis(100)).until(
        () -> fleet.call(VmServiceGrpcClient.ListCatalog, ListCatalogRequest.getDefaultInstance()).getNodesCount(),
        n -> n == 2, n -> "nodes READY: " + n);
  }

  @AfterEach
  void close() throws Exception {
    fleet.close();
  }

  private CliRun cli(String... args) {
    return CliRun.of(fleet.cpSocket, args);
  }

  @Test
  @DisplayName("image import reaches both nodes, each checks it; a VM boots from a disk over it; a second import of the"
      + " name fails on the node that has it; a node can be sent it alone; image delete empties the catalogs")
  void importListBootDelete() throws Exception {
    Path file = fleet.images.resolve(fleet.bootImage("greeter.img", "Hello from the catalog"));

    CliRun imported = cli("image", "import", file.toString(), "--name", "greeter");

    assertThat(imported.code()).as(imported.out() + imported.err()).isZero();
    assertThat(imported.out()).contains("node-a").contains("node-b").contains("OK");
    assertThat(imported.err()).contains("MiB");
    assertThat(fleet.call(VmServiceGrpcClient.ListCatalog, ListCatalogRequest.getDefaultInstance()).getNodesList())
        .allSatisfy(n -> assertThat(n.getImagesList()).extracting(i -> i.getName()).containsExactly("greeter"));
    assertThat(cli("image", "list").out()).contains("greeter");

    Vm vm = fleet.create(VmSpec.newBuilder().setName("from-base").setMemoryMib(64).putNodeSelector("zone", "b")
        .addDevices(ProxiedDevice.newBuilder().setId("lsi0").setDriver("lsi53c895a")
            .addDisks(Disk.newBuilder().setId("boot").setBase("greeter"))).build(), DesiredState.RUNNING);
    Await.atMost(Fleet.DEADLINE).every(Duration.ofMillis(200)).until(() -> consoleOf(vm.getId()),
        c -> c.contains("Hello from the catalog"), c -> "console: " + c);

    Vm nowhere = fleet.create(VmSpec.newBuilder().setName("nowhere").setMemoryMib(64)
        .addDevices(ProxiedDevice.newBuilder().setId("lsi0").setDriver("lsi53c895a")
            .addDisks(Disk.newBuilder().setId("boot").setBase("missing"))).build(), DesiredState.RUNNING);
    Await.atMost(Fleet.DEADLINE).every(Duration.ofMillis(100)).until(() -> fleet.get(nowhere.getId()).getStatus(),
        st -> st.getMessage().contains("2 nodes lack image missing in their catalog"), st -> "status: " + st);

    CliRun again = cli("image", "import", file.toString(), "--name", "greeter", "--node", "node-a");
    assertThat(again.code()).isEqualTo(1);
    assertThat(again.out()).contains("node-a").contains("ALREADY_EXISTS").doesNotContain("node-b");

    CliRun deleted = cli("image", "delete", "greeter", "--node", "node-a");
    assertThat(deleted.code()).as(deleted.out() + deleted.err()).isZero();
    CliRun alone = cli("image", "import", file.toString(), "--name", "greeter", "--node", "node-a");
    assertThat(alone.code()).as(alone.out() + alone.err()).isZero();
    assertThat(alone.out()).contains("node-a").doesNotContain("node-b");
  }

  @Test
  @DisplayName("a wrong checksum fails on every node and leaves no image anywhere; a bad name is refused up front")
  void badImports() throws Exception {
    Path file = fleet.images.resolve(fleet.bootImage("other.img", "x"));
    byte[] data = java.nio.file.Files.readAllBytes(file);
    ImportTarget wrongSum = ImportTarget.newBuilder().setUpload(ImageUpload.newBuilder().setName("other").setFormat("raw")
        .setSha256("0".repeat(64)).setSizeBytes(data.length)).build();
    ImportImageResponse answer = Fleet.await(fleet.grpcClient().request(fleet.address(), VmServiceGrpcClient.ImportImage)
        .compose(req -> {
          req.write(ImportImageRequest.newBuilder().setTarget(wrongSum).build());
          req.write(ImportImageRequest.newBuilder().setData(ByteString.copyFrom(data)).build());
          req.end();
          return req.response().compose(resp -> resp.last());
        }));
    assertThat(answer.getResultsList()).hasSize(2).allSatisfy(r -> {
      assertThat(r.getStatus()).isEqualTo("INVALID_ARGUMENT");
      assertThat(r.getMessage()).contains("the bytes received have sha256");
    });

    CliRun bad = cli("image", "import", file.toString(), "--name", "Bad Name");
    assertThat(bad.code()).isEqualTo(1);
    assertThat(bad.err()).contains("INVALID_ARGUMENT").contains("catalog name");
    assertThat(fleet.call(VmServiceGrpcClient.ListCatalog, ListCatalogRequest.getDefaultInstance()).getNodesList())
        .allSatisfy(n -> assertThat(n.getImagesList()).isEmpty());
  }

  private String consoleOf(String id) {
    try {
      return fleet.call(VmServiceGrpcClient.GetConsoleLog, GetConsoleLogRequest.newBuilder().setVm(Fleet.ref(id)).build())
          .getData().toStringUtf8();
    } catch (RuntimeException e) {
      return e.getMessage();
    }
  }
}
