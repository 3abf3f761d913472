package io.mpqemu.agent.api;

import io.mpqemu.agent.qemu.KernelCommandLine;
import io.mpqemu.v1.AgentVm;
import io.mpqemu.v1.Condition;
import io.mpqemu.v1.Phase;
import io.mpqemu.v1.VmSpec;
import io.mpqemu.wire.Timestamps;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;

/**
 * What holds of a VM while it runs on this node that its phase does not say (none once it stopped), added
 * to the agent's answers about it. Pure.
 */
public final class VmConditions {

  private static final Set<Phase> RUNS =
      EnumSet.of(Phase.PHASE_LAUNCHING, Phase.PHASE_RUNNING, Phase.PHASE_PAUSED, Phase.PHASE_STOPPING);

  /** {@code vm} with its conditions. */
  public static AgentVm with(AgentVm vm) {
    AgentVm.Builder b = vm.toBuilder().clearConditions();
    if (RUNS.contains(vm.getPhase())) {
      b.addAllConditions(of(vm.getSpec(), vm.getAccelerator()));
      if (vm.hasGuestReadyAt()) {
        b.addConditions(Condition.newBuilder().setType(GUEST_READY).setReason("ReadyPatternMatched")
            .setMessage("the serial output matched ready_pattern '" + vm.getSpec().getReadyPattern() + "' at "
                + Timestamps.instant(vm.getGuestReadyAt())));
      }
    }
    return b.build();
  }

  /** The guest said it is ready: its serial output matched the spec's ready_pattern in this launch. */
  public static final String GUEST_READY = "GuestReady";

  /** Under TCG a proxied device's interrupts never reach the guest. */
  public static final String DEVICE_INTERRUPTS = "DeviceInterruptsNotDelivered";

  private VmConditions() {}

  /** The conditions of {@code spec} running under {@code accelerator} ("kvm", "tcg", or "" before a launch). */
  public static List<Condition> of(VmSpec spec, String accelerator) {
    if (accelerator.equals("tcg") && KernelCommandLine.hasProxiedDevices(spec)) {
      if (KernelCommandLine.extended(spec, true)) {
        return List.of(Condition.newBuilder().setType(DEVICE_INTERRUPTS).setReason("TcgPolling")
            .setMessage("under TCG the proxied devices' interrupts do not reach the guest (QEMU signals them only"
                + " through KVM's irqfd): the agent appended '" + KernelCommandLine.TCG_INTERRUPTS + "' to the kernel"
                + " command line, so that the guest polls for them")
            .build());
      }
      return List.of(Condition.newBuilder().setType(DEVICE_INTERRUPTS).setReason("Tcg")
          .setMessage("under TCG the proxied devices' interrupts do not reach the guest (QEMU signals them only"
              + " through KVM's irqfd): a boot sector that polls works, a Linux guest needs 'irqpoll nolapic_timer'"
              + " on its kernel command line; on a host whose KVM runs a real kernel they are delivered")
          .build());
    }
    return List.of();
  }
}
