package io.mpqemu.agent.vm;

import io.mpqemu.agent.process.ExitStatus;
import io.mpqemu.v1.EventType;
import java.util.function.BiConsumer;

/**
 * Watches a VM's processes: an exit is recorded, its pair closed and the exit reported, on the event
 * loop; then {@code afterExit} decides what it means for the VM. Nothing happens once detached.
 */
final class ProcessWatcher {

  private final Vm vm;
  private final VmEvents events;
  private final VmRuntime rt;
  private final BiConsumer<VmProcess, ExitStatus> afterExit;

  ProcessWatcher(Vm vm, VmEvents events, VmRuntime rt, BiConsumer<VmProcess, ExitStatus> afterExit) {
    this.vm = vm;
    this.events = events;
    this.rt = rt;
    this.afterExit = afterExit;
  }

  void watch(VmProcess p) {
    p.process().onExit().whenComplete((status, error) -> rt.runOnLoop(() ->
        exited(p, status != null ? status : ExitStatus.unknown())));
  }

  private void exited(VmProcess p, ExitStatus status) {
    if (vm.state().detached()) {
      return;
    }
    p.exitedWith(status);
    vm.processes().closePairOf(p);
    events.emit(p.isNic() ? EventType.NIC_PROCESS_EXITED : EventType.PROCESS_EXITED,
        p.isMain() ? "MainProcessExited" : p.isNic() ? "NicProcessExited" : "DeviceProcessExited",
        p.title() + " (pid " + p.pid() + ") " + status.describe(), p);
    p.exitSeen();
    afterExit.accept(p, status);
  }
}
