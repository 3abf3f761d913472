package io.mpqemu.controlplane.store;

import io.mpqemu.v1.DesiredState;
import io.mpqemu.v1.VmSpec;
import io.mpqemu.v1.VmStatus;
import java.time.Instant;

/**
 * A VM intent and its last known status, as stored. Its name is {@code spec.getName()}; its {@code owner}
 * is the identity that created it ({@code unix:alice}, {@code cert:ci}), "" for VMs created before owners
 * were recorded.
 */
public record StoredVm(String id, VmSpec spec, DesiredState desiredState, long revision, VmStatus status,
    Instant createdAt, Instant updatedAt, String owner) {

  public StoredVm {
    owner = owner == null ? "" : owner;
  }

  public String name() {
    return spec.getName();
  }

  public StoredVm withStatus(VmStatus newStatus, Instant now) {
    return new StoredVm(id, spec, desiredState, revision, newStatus, createdAt, now, owner);
  }

  public StoredVm withDesiredState(DesiredState desired, Instant now) {
    return new StoredVm(id, spec, desired, revision + 1, status, createdAt, now, owner);
  }
}
