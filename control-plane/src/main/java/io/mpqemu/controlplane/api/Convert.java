package io.mpqemu.controlplane.api;

import com.google.protobuf.Timestamp;
import io.mpqemu.controlplane.store.StoredVm;
import io.mpqemu.v1.Vm;
import java.time.Instant;

/** Stored values to API messages. */
public final class Convert {

  private Convert() {}

  public static Vm vm(StoredVm vm) {
    return Vm.newBuilder().setId(vm.id()).setSpec(vm.spec()).setDesiredState(vm.desiredState())
        .setRevision(vm.revision()).setStatus(vm.status()).setCreatedAt(timestamp(vm.createdAt()))
        .setUpdatedAt(timestamp(vm.updatedAt())).build();
  }

  public static Timestamp timestamp(Instant t) {
    return Timestamp.newBuilder().setSeconds(t.getEpochSecond()).setNanos(t.getNano()).build();
  }
}
