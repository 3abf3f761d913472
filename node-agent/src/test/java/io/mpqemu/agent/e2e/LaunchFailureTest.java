package io.mpqemu.agent.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.mpqemu.grpc.GrpcCallException;
import io.mpqemu.v1.AgentVm;
import io.mpqemu.v1.EventType;
import io.mpqemu.v1.Phase;
import io.mpqemu.v1.VmEvent;
import io.mpqemu.v1.VmSpec;
import io.vertx.grpc.common.GrpcStatus;
import java.nio.file.Files;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

@DisplayName("A launch that QEMU refuses leaves nothing behind and says which step failed")
class LaunchFailureTest extends InProcessAgentTest {

  @Test
  @DisplayName("a disk that is not the format the spec claims fails the launch with QEMU's words; no process, socket or state is left")
  void deviceProcessRefusesItsDisk() throws Exception {
    String image = agent.bootImage("raw.img", "hi", false);
    VmSpec spec = Specs.lsi("bad-format", image).toBuilder()
        .setDevices(0, Specs.lsi("x", image).getDevices(0).toBuilder()
            .setDisks(0, Specs.lsi("x", image).getDevices(0).getDisks(0).toBuilder().setFormat("qcow2")))
        .build();

    assertThatThrownBy(() -> agent.launch("vm-bad", spec)).isInstanceOfSatisfying(GrpcCallException.class, e -> {
      assertThat(e.status()).isEqualTo(GrpcStatus.INTERNAL);
      assertThat(e.serverMessage()).contains("launch failed at step").contains("qcow2").contains("nothing was left running");
    });

    VmEvent failed = agent.awaitBusEvent(e -> e.getVmId().equals("vm-bad") && e.getType() == EventType.LAUNCH_FAILED,
        Duration.ofSeconds(5));
    assertThat(failed.getPhase()).isEqualTo(Phase.PHASE_FAILED);
    assertThat(failed.getMessage()).contains("qcow2");
    assertThat(agent.qemuPids()).isEmpty();
    assertThat(agent.vmDir("vm-bad")).doesNotExist();
    assertThatThrownBy(() -> agent.get("vm-bad")).isInstanceOfSatisfying(GrpcCallException.class,
        e -> assertThat(e.status()).isEqualTo(GrpcStatus.NOT_FOUND));
    assertThat(agent.list()).isEmpty();
    assertThat(agent.nodeInfo().getAllocatedMemoryMib()).as("its memory is free again").isZero();
  }

  @Test
  @DisplayName("with accelerator tcg configured, VMs run under TCG even where KVM is usable")
  void tcgWhenConfigured() throws Exception {
    agent.close();
    agent = new AgentHarness().startInProcess(c -> new io.mpqemu.agent.AgentConfig(c.nodeId(), c.listen(), c.stateDir(),
        c.imageRoot(), c.qemuBinary(), "tcg", c.limits(), c.memoryMib(), c.maxVms(), c.labels(), c.stopTimeout(),
        c.exitDeadline(), c.consoleLogMaxBytes()));
    String image = agent.bootImage("boot.img", "under tcg", false);

    AgentVm vm = agent.launch("vm-tcg", Specs.lsi("tcg", image));

    assertThat(vm.getAccelerator()).isEqualTo("tcg");
    assertThat(agent.nodeInfo().getAccelerator()).isEqualTo("tcg");
    assertThat(vm.getConditionsList()).as("proxied devices under TCG: their interrupts do not reach the guest")
        .extracting(io.mpqemu.v1.Condition::getType).containsExactly("DeviceInterruptsNotDelivered");
    agent.awaitConsole("vm-tcg", "under tcg", AgentHarness.BOOT_WITHIN);
    List<String> mainArgs = ProcessHandle.of(vm.getProcessesList().stream().filter(p -> p.getName().equals("main"))
        .findFirst().orElseThrow().getPid()).orElseThrow().info().arguments().map(List::of).orElse(List.of());
    assertThat(String.join(" ", mainArgs)).contains("-accel tcg");
    assertThat(mainArgs).as("the agent records pids itself: QEMU writes no pid file").doesNotContain("-pidfile");
  }
}
