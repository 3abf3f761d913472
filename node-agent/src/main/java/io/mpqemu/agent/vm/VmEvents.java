package io.mpqemu.agent.vm;

import io.mpqemu.v1.EventType;
import io.mpqemu.v1.VmEvent;
import io.mpqemu.wire.Timestamps;

/** Emits a VM's lifecycle events, numbered per VM, and has its record written after each. */
final class VmEvents {

  private final Vm vm;
  private final VmRuntime rt;
  private final VmRecordWriter writer;

  VmEvents(Vm vm, VmRuntime rt, VmRecordWriter writer) {
    this.vm = vm;
    this.rt = rt;
    this.writer = writer;
  }

  /** GUEST_READY: the serial output matched the spec's ready_pattern. */
  void guestReady() {
    emit(EventType.GUEST_READY, "GuestReady", "the serial output matched ready_pattern '"
        + vm.spec().getReadyPattern() + "'", null);
  }

  /** NIC_ADDRESS_LEARNT: the node's neighbour table shows a new address for one of the VM's NICs. */
  void nicAddressLearnt(String nicId, String mac, String address) {
    emit(EventType.NIC_ADDRESS_LEARNT, "NicAddressLearnt", "NIC " + nicId + " (" + mac + ") has address " + address
        + " (the node's neighbour table)", null);
  }

  /** An event in the VM's current phase; {@code process} (or null) is the process it is about. */
  void emit(EventType type, String reason, String message, VmProcess process) {
    if (vm.state().detached()) {
      return;
    }
    VmEvent.Builder e = VmEvent.newBuilder()
        .setVmSeq(vm.nextSeq()).setVmId(vm.id()).setVmName(vm.spec().getName()).setNode(rt.nodeId())
        .setType(type).setPhase(vm.state().phase()).setReason(reason).setMessage(message).setTime(Timestamps.of(rt.now()));
    if (process != null) {
      e.setProcess(process.status());
    }
    rt.events().publish(e.build());
    writer.persist();
  }
}
