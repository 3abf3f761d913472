package io.mpqemu.agent.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import io.mpqemu.grpc.GrpcCallException;
import io.mpqemu.testing.TestGuest;
import io.mpqemu.v1.AgentVm;
import io.mpqemu.v1.Boot;
import io.mpqemu.v1.Condition;
import io.mpqemu.v1.ConsoleAttachOptions;
import io.mpqemu.v1.ConsoleNotice;
import io.mpqemu.v1.Disk;
import io.mpqemu.v1.EventType;
import io.mpqemu.v1.Phase;
import io.mpqemu.v1.ProxiedDevice;
import io.mpqemu.v1.VmEvent;
import io.mpqemu.v1.VmSpec;
import io.vertx.grpc.common.GrpcStatus;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * A real Linux: the Debian guest of {@link TestGuest}, booted directly (kernel and initrd handed over by the agent) by a confined
 * agent with its root file system on a proxied disk, to a root shell on its serial console.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class RealGuestTest {

  private static Path guest;
  /** Under TCG here; 13 to 22 s on an idle machine, more on a loaded one. */
  private static final Duration SHELL_WITHIN = Duration.ofSeconds(240);
  private static final String PROMPT = TestGuest.PROMPT;

  @RegisterExtension
  static final GuestAgent GUEST = new GuestAgent();
  private AgentHarness agent;

  @BeforeEach
  void useTheGuest() {
    agent = GUEST.agent();
    guest = GUEST.guest();
  }

  @Test
  @DisplayName("Debian boots from a root disk on a proxied virtio-blk-pci to a root shell, GUEST_READY from its"
      + " ready_pattern; the kernel got the command line with what the agent adds under TCG; its console takes"
      + " one writer and many readers, and detaching leaves it running")
  void virtioBlk() throws Exception {
    String vmId = "vm-virtio";
    AgentVm vm = boot(vmId, "virtio-blk-pci", "vda");

    VmEvent ready = agent.awaitBusEvent(e -> e.getVmId().equals(vmId) && e.getType() == EventType.GUEST_READY,
        Duration.ofSeconds(10));
    assertThat(ready.getMessage()).contains(PROMPT);
    assertThat(agent.get(vmId).getConditionsList()).extracting(Condition::getType).contains("GuestReady");

    ConsoleProbe viewer = ConsoleProbe.attach(agent, vmId, false, false);
    assertThat(viewer.output.toString()).as("the recent output comes first").contains(PROMPT);
    ConsoleProbe writer = ConsoleProbe.attach(agent, vmId, true, false);
    GrpcCallException second = ConsoleProbe.refusal(agent, vmId, ConsoleAttachOptions.newBuilder().setWrite(true).build());
    assertThat(second.status()).isEqualTo(GrpcStatus.FAILED_PRECONDITION);
    assertThat(second.getMessage()).contains("already has a writer").contains("force");

    int viewed = viewer.output.length();
    int written = writer.output.length();
    writer.type("cat /proc/cmdline\n");
    // only the command's answer has the line after the mark: its echo does not, and the boot log came before
    String line = "console=ttyS0 root=LABEL=root rw" + (vm.getAccelerator().equals("tcg") ? " irqpoll nolapic_timer" : "");
    viewer.awaitOutput(viewed, line, SHELL_WITHIN);
    writer.awaitOutput(written, line, SHELL_WITHIN);

    viewer.type("reboot\n");
    assertThat(viewer.awaitNotice(ConsoleNotice.Kind.INPUT_IGNORED).getWriter()).isFalse();
    ConsoleProbe taker = ConsoleProbe.attach(agent, vmId, true, true);
    assertThat(writer.awaitNotice(ConsoleNotice.Kind.WRITER_TAKEN_OVER).getMessage()).contains("only reads");
    taker.type("echo mpq-$((6*7))\n"); // the answer differs from the echo
    viewer.awaitOutput("mpq-42", SHELL_WITHIN);

    viewer.leave();
    writer.leave();
    taker.leave();
    assertThat(agent.get(vmId).getPhase()).as("detaching leaves the VM running").isEqualTo(Phase.PHASE_RUNNING);

    ConsoleProbe last = ConsoleProbe.attach(agent, vmId, false, false);
    agent.stop(vmId, 0, true);
    GrpcCallException closed = last.awaitFailure();
    assertThat(closed.status()).isEqualTo(GrpcStatus.FAILED_PRECONDITION);
    assertThat(closed.getMessage()).contains("console closed");
    GrpcCallException stopped = ConsoleProbe.refusal(agent, vmId, ConsoleAttachOptions.getDefaultInstance());
    assertThat(stopped.status()).isEqualTo(GrpcStatus.FAILED_PRECONDITION);
    assertThat(stopped.getMessage()).contains("is STOPPED");
    deleteVm(vmId);
    assertThat(ConsoleProbe.refusal(agent, vmId, ConsoleAttachOptions.getDefaultInstance()).status())
        .isEqualTo(GrpcStatus.NOT_FOUND);
  }

  @Test
  @DisplayName("the same from a root disk on a proxied nvme")
  void nvme() throws Exception {
    boot("vm-nvme", "nvme", "nvme0n1");
    deleteVm("vm-nvme");
  }

  /** Boots the guest from a copy of the image on {@code driver} and waits for its shell. */
  private AgentVm boot(String vmId, String driver, String diskName) throws Exception {
    String root = vmId + "-root.img";
    TestGuest.copyRoot(guest, agent.imageRoot.resolve(root));
    VmSpec spec = VmSpec.newBuilder().setName(vmId.substring(3)).setMemoryMib(512)
        .addDevices(ProxiedDevice.newBuilder().setId("root0").setDriver(driver)
            .addDisks(Disk.newBuilder().setId("root").setImage(root)))
        .setBoot(Boot.newBuilder().setKernel("vmlinuz").setInitrd("initrd.img")
            .setCmdline("console=ttyS0 root=LABEL=root rw"))
        .setReadyPattern(java.util.regex.Pattern.quote(PROMPT))
        .build();

    AgentVm vm = agent.launch(vmId, spec);

    String console = agent.awaitConsole(vmId, PROMPT, SHELL_WITHIN);
    String line = "console=ttyS0 root=LABEL=root rw" + (vm.getAccelerator().equals("tcg") ? " irqpoll nolapic_timer" : "");
    assertThat(console).contains("Command line: " + line).contains(diskName).contains("EXT4-fs (" + diskName + ")");
    return vm;
  }

  private void deleteVm(String vmId) throws IOException {
    agent.delete(vmId, true);
    agent.awaitNoQemu(Duration.ofSeconds(10));
    Files.delete(agent.imageRoot.resolve(vmId + "-root.img"));
  }
}
