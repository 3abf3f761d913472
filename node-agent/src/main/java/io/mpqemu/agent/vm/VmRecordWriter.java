package io.mpqemu.agent.vm;

import io.mpqemu.agent.state.VmRecord;
import io.mpqemu.errors.Failures;
import io.vertx.core.Future;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Writes a VM's record (vm.json) in the background, one write at a time; writes asked for while one
 * waits are folded into it. Forgetting the VM waits for the last write, then removes the directory.
 * It also removes the QMP socket file the launch made, once the main QEMU is gone.
 */
final class VmRecordWriter {

  /** Logged under the supervisor's name, as before the supervisor was split. */
  private static final Logger LOG = LoggerFactory.getLogger(VmSupervisor.class);

  private final Vm vm;
  private final VmRuntime rt;
  private Future<Void> lastWrite = Future.succeededFuture();
  private boolean writeQueued;

  VmRecordWriter(Vm vm, VmRuntime rt) {
    this.vm = vm;
    this.rt = rt;
  }

  /** Writes the record unless the VM has no directory, is forgotten or detached; never fails. */
  Future<Void> persist() {
    if (!vm.state().mayRecord()) {
      return Future.succeededFuture();
    }
    if (writeQueued) {
      return lastWrite;
    }
    writeQueued = true;
    lastWrite = lastWrite.transform(ignored -> {
      writeQueued = false;
      if (vm.state().forgotten()) {
        return Future.succeededFuture();
      }
      VmRecord snapshot = vm.record();
      return rt.blocking(() -> {
        rt.store().write(vm.paths(), snapshot);
        return null;
      }).<Void>mapEmpty().recover(e -> {
        LOG.warn("vm={} cannot write its state file: {}", vm.id(), Failures.describe(e));
        return Future.succeededFuture();
      });
    });
    return lastWrite;
  }

  /** Removes the QMP socket file (the main QEMU is gone, nothing listens on it); never fails. */
  Future<Void> removeQmpSocket() {
    if (vm.state().forgotten()) {
      return Future.succeededFuture();
    }
    return rt.blocking(() -> {
      rt.store().removeQmpSocket(vm.paths());
      return null;
    }).<Void>mapEmpty().recover(e -> {
      LOG.warn("vm={} cannot remove its QMP socket file: {}", vm.id(), Failures.describe(e));
      return Future.succeededFuture();
    });
  }

  /** After the last write: the VM is forgotten and its state directory removed. */
  Future<Void> forget() {
    return lastWrite.transform(ignored -> {
      vm.state().forget();
      return rt.blocking(() -> {
        rt.store().delete(vm.paths());
        rt.confinement().release(vm.id()); // every process of it is gone: its uids may serve another VM
        return null;
      });
    });
  }
}
