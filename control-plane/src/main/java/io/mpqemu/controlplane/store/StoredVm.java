package io.mpqemu.controlplane.store;

import io.mpqemu.v1.DesiredState;
import io.mpqemu.v1.VmSpec;
import io.mpqemu.v1.VmStatus;
import java.time.Instant;

/** A VM intent and its last known status, as stored. Its name is {@code spec.getName()}. */
public record StoredVm(String id, VmSpec spec, DesiredState desiredState, long revision, VmStatus status,
    Instant createdAt, Instant updatedAt) {

  public String name() {
    return spec.getName();
  }

  public StoredVm withStatus(VmStatus newStatus, Instant now) {
    return new StoredVm(id, spec, desiredState, revision, newStatus, createdAt, now);
  }

  public StoredVm withDesiredState(DesiredState desired, Instant now) {
    return new StoredVm(id, spec, desired, revision + 1, status, createdAt, now);
  }
}
