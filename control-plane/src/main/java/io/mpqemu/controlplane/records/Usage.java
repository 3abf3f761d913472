package io.mpqemu.controlplane.records;

import io.mpqemu.controlplane.store.StoredVm;

/** What a node or an owner holds: VMs and their guest memory. */
public record Usage(int vms, long memoryMib) {

  public static final Usage NONE = new Usage(0, 0);

  Usage plus(StoredVm vm, int sign) {
    return new Usage(vms + sign, memoryMib + sign * (long) vm.spec().getMemoryMib());
  }

  Usage plus(Usage other) {
    return new Usage(vms + other.vms, memoryMib + other.memoryMib);
  }
}
