package io.mpqemu.agent.qemu;

import static org.assertj.core.api.Assertions.assertThat;

import io.mpqemu.v1.Boot;
import io.mpqemu.v1.ProxiedDevice;
import io.mpqemu.v1.VmSpec;
import org.junit.jupiter.api.Test;

class KernelCommandLineTest {

  private static VmSpec spec(String cmdline, boolean devices) {
    VmSpec.Builder b = VmSpec.newBuilder().setName("k").setBoot(Boot.newBuilder().setKernel("vmlinuz").setCmdline(cmdline));
    if (devices) {
      b.addDevices(ProxiedDevice.newBuilder().setId("vb0").setDriver("virtio-blk-pci"));
    }
    return b.build();
  }

  @Test
  void underTcgWithProxiedDevicesTheGuestIsToldToPoll() {
    assertThat(KernelCommandLine.of(spec("console=ttyS0", true), true)).isEqualTo("console=ttyS0 irqpoll nolapic_timer");
    assertThat(KernelCommandLine.of(spec("", true), true)).isEqualTo("irqpoll nolapic_timer");
    assertThat(KernelCommandLine.extended(spec("console=ttyS0", true), true)).isTrue();
  }

  @Test
  void aNicOrASeedInAProcessOfItsOwnCountsAsAProxiedDevice() {
    VmSpec nicOnly = spec("console=ttyS0", false).toBuilder()
        .addNics(io.mpqemu.v1.Nic.newBuilder().setId("net0")).build();
    assertThat(KernelCommandLine.of(nicOnly, true)).isEqualTo("console=ttyS0 irqpoll nolapic_timer");
    VmSpec seedOnly = spec("console=ttyS0", false).toBuilder()
        .setCloudInit(io.mpqemu.v1.CloudInit.newBuilder().setUserData("#cloud-config\n")).build();
    assertThat(KernelCommandLine.of(seedOnly, true)).isEqualTo("console=ttyS0 irqpoll nolapic_timer");
    VmSpec virtioInMain = spec("console=ttyS0", false).toBuilder().addNics(io.mpqemu.v1.Nic.newBuilder().setId("net0")
        .setPlacement(io.mpqemu.v1.NicPlacement.MAIN)).build();
    assertThat(KernelCommandLine.of(virtioInMain, true)).as("a NIC in the main QEMU gets its interrupts")
        .isEqualTo("console=ttyS0");
  }

  @Test
  void theLineIsLeftAsItIsOtherwise() {
    assertThat(KernelCommandLine.of(spec("console=ttyS0", true), false)).as("KVM").isEqualTo("console=ttyS0");
    assertThat(KernelCommandLine.of(spec("console=ttyS0", false), true)).as("no proxied device").isEqualTo("console=ttyS0");
    assertThat(KernelCommandLine.of(spec("a nolapic_timer b", true), true)).as("already polling").isEqualTo("a nolapic_timer b");
    assertThat(KernelCommandLine.extended(spec("nolapic_timer=1", true), true)).as("another word").isTrue();
    assertThat(KernelCommandLine.extended(VmSpec.newBuilder().setName("d")
        .addDevices(ProxiedDevice.newBuilder().setId("vb0")).build(), true)).as("no kernel: no line").isFalse();
  }
}
