package io.mpqemu.agent.qemu;

import io.mpqemu.spec.CloudInitSeed;
import io.mpqemu.spec.NicRules;
import io.mpqemu.v1.VmSpec;
import java.util.Arrays;

/**
 * The command line a directly booted kernel gets: the spec's, and under TCG with proxied devices
 * {@value #TCG_INTERRUPTS} after it when it lacks {@code nolapic_timer}, since those devices' interrupts
 * never reach the guest there (QEMU signals them only through KVM's irqfd) and a Linux guest then hangs on
 * its first disk read unless it polls. Pure.
 */
public final class KernelCommandLine {

  /** What a Linux guest needs under TCG to see its proxied devices' work done: it polls for them. */
  public static final String TCG_INTERRUPTS = "irqpoll nolapic_timer";

  private KernelCommandLine() {}

  /** The line QEMU is given ({@code -append}) for {@code spec} under TCG or not. */
  public static String of(VmSpec spec, boolean tcg) {
    String line = spec.getBoot().getCmdline();
    if (!extended(spec, tcg)) {
      return line;
    }
    return line.isEmpty() ? TCG_INTERRUPTS : line + " " + TCG_INTERRUPTS;
  }

  /** Whether any device of the VM runs in a process of its own: a disk controller, the cloud-init seed, a NIC. */
  public static boolean hasProxiedDevices(VmSpec spec) {
    return spec.getDevicesCount() > 0 || CloudInitSeed.wanted(spec) || NicRules.deviceProcesses(spec) > 0;
  }

  /** Whether the agent adds {@value #TCG_INTERRUPTS} to the spec's line. */
  public static boolean extended(VmSpec spec, boolean tcg) {
    return tcg && !spec.getBoot().getKernel().isEmpty() && hasProxiedDevices(spec)
        && Arrays.stream(spec.getBoot().getCmdline().split(" ")).noneMatch(w -> w.equals("nolapic_timer"));
  }
}
