package io.mpqemu.agent.api;

import static org.assertj.core.api.Assertions.assertThat;

import io.mpqemu.v1.Condition;
import io.mpqemu.v1.ProxiedDevice;
import io.mpqemu.v1.VmSpec;
import org.junit.jupiter.api.Test;

class VmConditionsTest {

  private static final VmSpec WITH_DEVICE = VmSpec.newBuilder().setName("a")
      .addDevices(ProxiedDevice.newBuilder().setId("lsi0").setDriver("lsi53c895a")).build();

  @Test
  void proxiedDevicesUnderTcgDoNotInterrupt() {
    assertThat(VmConditions.of(WITH_DEVICE, "tcg")).extracting(Condition::getType, Condition::getReason)
        .containsExactly(org.assertj.core.api.Assertions.tuple("DeviceInterruptsNotDelivered", "Tcg"));
    assertThat(VmConditions.of(WITH_DEVICE, "tcg").get(0).getMessage()).contains("irqpoll nolapic_timer");
  }

  @Test
  void onlyWhileItRuns() {
    io.mpqemu.v1.AgentVm running = io.mpqemu.v1.AgentVm.newBuilder().setSpec(WITH_DEVICE).setAccelerator("tcg")
        .setPhase(io.mpqemu.v1.Phase.PHASE_RUNNING).build();
    assertThat(VmConditions.with(running).getConditionsCount()).isEqualTo(1);
    assertThat(VmConditions.with(running.toBuilder().setPhase(io.mpqemu.v1.Phase.PHASE_STOPPED).build())
        .getConditionsList()).isEmpty();
  }

  @Test
  void nothingUnderKvmWithoutDevicesOrBeforeALaunch() {
    assertThat(VmConditions.of(WITH_DEVICE, "kvm")).isEmpty();
    assertThat(VmConditions.of(WITH_DEVICE, "")).isEmpty();
    assertThat(VmConditions.of(VmSpec.newBuilder().setName("b").build(), "tcg")).isEmpty();
  }
}
