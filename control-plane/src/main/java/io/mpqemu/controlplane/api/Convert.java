package io.mpqemu.controlplane.api;

import io.mpqemu.controlplane.store.StoredVm;
import io.mpqemu.v1.Vm;
import io.mpqemu.wire.Timestamps;

/** Stored values to API messages. */
public final class Convert {

  private Convert() {}

  public static Vm vm(StoredVm vm) {
    return Vm.newBuilder().setId(vm.id()).setSpec(vm.spec()).setDesiredState(vm.desiredState())
        .setRevision(vm.revision()).setStatus(vm.status()).setCreatedAt(Timestamps.of(vm.createdAt()))
        .setUpdatedAt(Timestamps.of(vm.updatedAt())).setOwner(vm.owner()).build();
  }
}
