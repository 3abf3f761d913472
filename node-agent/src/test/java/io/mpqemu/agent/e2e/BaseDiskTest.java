package io.mpqemu.agent.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.mpqemu.grpc.GrpcCallException;
import io.mpqemu.v1.CatalogImage;
import io.mpqemu.v1.DeleteImageRequest;
import io.mpqemu.v1.Disk;
import io.mpqemu.v1.ListImagesRequest;
import io.mpqemu.v1.NodeAgentServiceGrpcClient;
import io.mpqemu.v1.ProxiedDevice;
import io.mpqemu.v1.VmSpec;
import io.vertx.grpc.common.GrpcStatus;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.HexFormat;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/** Disks over a catalog base: each VM gets its own qcow2 overlay, made on its launch and removed with it. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class BaseDiskTest {

  private static final String GREETING = "Hello from a catalog base";

  private AgentHarness agent;
  private CatalogImage base;

  @BeforeAll
  void start() throws Exception {
    agent = new AgentHarness().startInProcess();
    byte[] image = Files.readAllBytes(agent.imageRoot.resolve(agent.bootImage("base.img", GREETING, false)));
    base = agent.importImage("greeter", image);
  }

  @AfterAll
  void stop() throws Exception {
    agent.close();
  }

  private static VmSpec overBase(String name, String baseName, int sizeGib) {
    return VmSpec.newBuilder().setName(name).setMemoryMib(64)
        .addDevices(ProxiedDevice.newBuilder().setId("lsi0").setDriver("lsi53c895a")
            .addDisks(Disk.newBuilder().setId("boot").setBase(baseName).setSizeGib(sizeGib)))
        .build();
  }

  private String sha256(Path file) throws Exception {
    return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(file)));
  }

  @Test
  @DisplayName("two VMs boot from one base, each through an overlay of its own; the base is unchanged and each"
      + " overlay goes with its VM")
  void twoVmsOneBase() throws Exception {
    agent.launch("vm-a", overBase("a", "greeter", 0));
    agent.launch("vm-b", overBase("b", "greeter", 2));
    agent.awaitConsole("vm-a", GREETING, AgentHarness.BOOT_WITHIN);
    agent.awaitConsole("vm-b", GREETING, AgentHarness.BOOT_WITHIN);

    Path overlayA = agent.stateDir.resolve("disks/vm-a/boot.qcow2");
    Path overlayB = agent.stateDir.resolve("disks/vm-b/boot.qcow2");
    assertThat(overlayA).exists();
    assertThat(overlayB).exists();
    assertThat(Files.readAllBytes(overlayB)).startsWith(0x51, 0x46, 0x49, 0xfb); // "QFI\xfb": qcow2
    assertThat(sha256(agent.stateDir.resolve("catalog/greeter.img"))).isEqualTo(base.getSha256());
    assertThat(agent.call(NodeAgentServiceGrpcClient.ListImages, ListImagesRequest.getDefaultInstance()).getImages(0)
        .getInUseByList()).containsExactly("vm-a", "vm-b");
    assertThatThrownBy(() -> agent.call(NodeAgentServiceGrpcClient.DeleteImage,
        DeleteImageRequest.newBuilder().setName("greeter").build()))
        .isInstanceOfSatisfying(GrpcCallException.class, e -> {
          assertThat(e.status()).isEqualTo(GrpcStatus.FAILED_PRECONDITION);
          assertThat(e.serverMessage()).contains("is the base of VM(s) vm-a, vm-b");
        });

    agent.stop("vm-a", 0, true);
    agent.launch("vm-a", overBase("a", "greeter", 0));
    assertThat(overlayA).as("a VM keeps its disk across a stop and a start").exists();

    agent.delete("vm-a", true);
    agent.delete("vm-b", true);
    assertThat(agent.stateDir.resolve("disks/vm-a")).doesNotExist();
    assertThat(agent.stateDir.resolve("disks/vm-b")).doesNotExist();
    assertThat(sha256(agent.stateDir.resolve("catalog/greeter.img"))).isEqualTo(base.getSha256());
    agent.awaitNoQemu(Duration.ofSeconds(10));
    assertThat(agent.call(NodeAgentServiceGrpcClient.ListImages, ListImagesRequest.getDefaultInstance()).getImages(0)
        .getInUseByList()).isEmpty();
  }

  @Test
  @DisplayName("a base missing from the node's catalog is FAILED_PRECONDITION naming the disk, and leaves nothing")
  void missingBase() {
    assertThatThrownBy(() -> agent.launch("vm-c", overBase("c", "nowhere", 0)))
        .isInstanceOfSatisfying(GrpcCallException.class, e -> {
          assertThat(e.status()).isEqualTo(GrpcStatus.FAILED_PRECONDITION);
          assertThat(e.serverMessage()).contains("devices[0].disks[0].base: 'nowhere' is not in this node's catalog");
        });
    assertThat(agent.stateDir.resolve("disks/vm-c")).doesNotExist();
    assertThat(agent.stateDir.resolve("vms/vm-c")).doesNotExist();
  }
}
