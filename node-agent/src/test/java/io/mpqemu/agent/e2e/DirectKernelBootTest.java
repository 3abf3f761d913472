package io.mpqemu.agent.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.mpqemu.grpc.GrpcCallException;
import io.mpqemu.v1.AgentVm;
import io.mpqemu.v1.Boot;
import io.mpqemu.v1.Condition;
import io.mpqemu.v1.EventType;
import io.mpqemu.v1.VmSpec;
import io.vertx.grpc.common.GrpcStatus;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/**
 * Direct kernel boot on a real, confined agent: QEMU loads a kernel and an initrd the agent opened (a
 * multiboot test kernel, src/test/asm/test-kernel.S, that prints the command line and the start of its
 * initrd on the serial console), never by the path in the spec; bad kernels and initrds are refused or
 * fail the launch leaving nothing behind.
 */
class DirectKernelBootTest {

  private AgentHarness agent;

  @BeforeEach
  void start() throws IOException {
    agent = new AgentHarness().startInProcess();
  }

  @AfterEach
  void stop() throws Exception {
    agent.close();
  }

  @Test
  @DisplayName("the kernel boots with its initrd and command line, a proxied disk beside it; under TCG the agent"
      + " appends 'irqpoll nolapic_timer' and says so in the VM's conditions")
  void bootsTheKernel() throws Exception {
    kernel("guests/test-kernel.bin");
    Files.writeString(agent.imageRoot.resolve("guests/initrd.img"), "INITRD-CONTENT-42 and more\n");
    String disk = agent.emptyImage("data.img");
    VmSpec spec = Specs.lsi("direct", disk).toBuilder().setBoot(Boot.newBuilder().setKernel("guests/test-kernel.bin")
        .setInitrd("guests/initrd.img").setCmdline("console=ttyS0 hello=world")).build();

    AgentVm vm = agent.launch("vm-direct", spec);

    boolean tcg = vm.getAccelerator().equals("tcg");
    String line = "console=ttyS0 hello=world" + (tcg ? " irqpoll nolapic_timer" : "");
    String console = agent.awaitConsole("vm-direct", "mpqemu-test-kernel done", AgentHarness.BOOT_WITHIN);
    assertThat(console).contains("mpqemu-test-kernel cmdline=[/proc/self/fd/6 " + line + "]")
        .contains("mpqemu-test-kernel initrd=[INITRD-CONTENT-42 and more]");
    if (tcg) {
      assertThat(vm.getConditionsList()).extracting(Condition::getType, Condition::getReason)
          .containsExactly(org.assertj.core.api.Assertions.tuple("DeviceInterruptsNotDelivered", "TcgPolling"));
    }
    agent.delete("vm-direct", true);
    agent.awaitNoQemu(Duration.ofSeconds(5));
  }

  @Test
  @DisplayName("a kernel or initrd that is missing, not readable by all, or outside the image root is refused"
      + " before anything starts")
  void badFilesAreRefused() throws Exception {
    kernel("k.bin");
    Files.writeString(agent.imageRoot.resolve("secret.img"), "initrd");
    Files.setPosixFilePermissions(agent.imageRoot.resolve("secret.img"), PosixFilePermissions.fromString("rw-------"));
    String disk = agent.emptyImage("d.img");
    VmSpec base = Specs.lsi("bad", disk);

    assertRefused(base.toBuilder().setBoot(Boot.newBuilder().setKernel("k.bin").setInitrd("nope.img")).build(),
        GrpcStatus.FAILED_PRECONDITION, "boot.initrd: image 'nope.img' does not exist under this node's image root");
    assertRefused(base.toBuilder().setBoot(Boot.newBuilder().setKernel("k.bin").setInitrd("secret.img")).build(),
        GrpcStatus.PERMISSION_DENIED, "boot.initrd: 'secret.img' is not readable by all");
    assertRefused(base.toBuilder().setBoot(Boot.newBuilder().setKernel("../k.bin")).build(),
        GrpcStatus.INVALID_ARGUMENT, "boot.kernel");
    assertRefused(base.toBuilder().setBoot(Boot.newBuilder().setKernel("k.bin").setCmdline("a\nb")).build(),
        GrpcStatus.INVALID_ARGUMENT, "boot.cmdline");
    assertThat(agent.qemuPids()).isEmpty();
    assertThat(agent.list()).isEmpty();
  }

  @Test
  @DisplayName("a kernel that is not a kernel fails the launch, names QEMU's complaint, and leaves no process")
  void notAKernel() throws Exception {
    Files.writeString(agent.imageRoot.resolve("junk.bin"), "this is not a kernel\n".repeat(100));
    String disk = agent.emptyImage("d2.img");
    VmSpec spec = Specs.lsi("junk", disk).toBuilder().setBoot(Boot.newBuilder().setKernel("junk.bin")).build();

    Throwable failed = org.assertj.core.api.Assertions.catchThrowable(() -> agent.launch("vm-junk", spec));
    assertThat(failed).isInstanceOfSatisfying(GrpcCallException.class,
        e -> assertThat(e.serverMessage()).contains("launch failed").contains("invalid kernel header"));
    // the bus delivers the event on its own time, not before the answer
    agent.awaitBusEvent(e -> e.getVmId().equals("vm-junk") && e.getType() == EventType.LAUNCH_FAILED
        && e.getMessage().contains("invalid kernel header"), Duration.ofSeconds(10));
    agent.awaitNoQemu(Duration.ofSeconds(5));
  }

  private void assertRefused(VmSpec spec, GrpcStatus status, String message) {
    assertThatThrownBy(() -> agent.launch("vm-bad", spec)).isInstanceOfSatisfying(GrpcCallException.class, e -> {
      assertThat(e.status()).as(e.getMessage()).isEqualTo(status);
      assertThat(e.serverMessage()).contains(message);
    });
  }

  private void kernel(String path) throws IOException {
    Files.createDirectories(agent.imageRoot.resolve(path).getParent());
    try (InputStream in = DirectKernelBootTest.class.getResourceAsStream("test-kernel.bin")) {
      Files.write(agent.imageRoot.resolve(path), in.readAllBytes());
    }
  }
}
