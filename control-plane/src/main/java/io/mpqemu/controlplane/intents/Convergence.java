package io.mpqemu.controlplane.intents;

import io.mpqemu.controlplane.store.StoredVm;
import io.vertx.core.Future;

/** What intents ask of whatever converges VMs to them (the reconciler), once an intent is stored. */
public interface Convergence {

  /** The VM's intent changed: bring its node in line, now rather than at the next pass. */
  void converge(String vmId);

  /** The VM should stop: within {@code timeoutSeconds}, or at once when {@code force} (the next pass would use the defaults). */
  void stop(StoredVm vm, int timeoutSeconds, boolean force);

  /**
   * Takes the VM off its node before its record goes: done when the node no longer has it; failed with a
   * {@code VmError} UNAVAILABLE when the VM may still run on a node that cannot be reached.
   */
  Future<Void> release(StoredVm vm);
}
