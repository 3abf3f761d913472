package io.mpqemu.agent.vm;

import io.mpqemu.agent.process.ExitStatus;
import io.mpqemu.v1.Phase;
import io.vertx.core.Future;
import java.util.List;

/**
 * Ends a running VM after one of its processes exited on its own. The main QEMU's exit ends the
 * device processes: STOPPED (GuestShutdown) after the guest powered off, FAILED otherwise. A device
 * process's exit fails the VM: the main QEMU is told to quit, the other device processes follow.
 */
final class UnexpectedExit {

  private final Vm vm;
  private final VmRuntime rt;
  private final Teardown teardown;

  UnexpectedExit(Vm vm, VmRuntime rt, Teardown teardown) {
    this.vm = vm;
    this.rt = rt;
    this.teardown = teardown;
  }

  Future<Void> handle(VmProcess p, ExitStatus status) {
    return p.isMain() ? mainExited(p, status) : deviceExited(p, status);
  }

  private Future<Void> mainExited(VmProcess p, ExitStatus status) {
    Lifecycle.GuestEnd guest = vm.state().guest();
    boolean clean = guest == Lifecycle.GuestEnd.SHUT_DOWN;
    Phase end = clean ? Phase.PHASE_STOPPED : Phase.PHASE_FAILED;
    String why = clean ? "GuestShutdown" : guest == Lifecycle.GuestEnd.PANICKED ? "GuestPanicked" : "MainProcessExited";
    String msg = clean ? "guest shut down; main QEMU exited" : "main QEMU (pid " + p.pid() + ") " + status.describe();
    return teardown.endDeviceProcesses().transform(ar -> ar.succeeded()
        ? teardown.finish(end, why, msg + "; " + ar.result()) : teardown.killFailed(msg, ar.cause()));
  }

  private Future<Void> deviceExited(VmProcess p, ExitStatus status) {
    String msg = p.title() + " (pid " + p.pid() + ") " + status.describe();
    return rt.blocking(() -> ProcessLogs.lastLines(vm.paths(), List.of(p.name()), 2)).otherwise("")
        .compose(said -> teardown.endMainProcess().map(how -> (said.isEmpty() ? "" : "QEMU said: " + said + "; ") + how))
        .compose(how -> teardown.endDeviceProcesses().map(summary -> how + "; " + summary))
        .transform(ar -> ar.succeeded()
            ? teardown.finish(Phase.PHASE_FAILED, "DeviceProcessExited", msg + "; " + ar.result())
            : teardown.killFailed(msg, ar.cause()));
  }
}
