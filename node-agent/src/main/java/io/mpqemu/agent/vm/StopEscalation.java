package io.mpqemu.agent.vm;

import static io.mpqemu.agent.vm.Teardown.seconds;

import io.mpqemu.v1.EventType;
import io.mpqemu.v1.Phase;
import io.vertx.core.Future;
import io.vertx.core.json.JsonObject;
import java.time.Duration;

/**
 * Stops a VM: {@code system_powerdown} and up to the grace period for the guest to power off, then
 * {@code quit} and up to the exit deadline, then SIGKILL; {@code force} kills at once. The device
 * processes follow the main QEMU. Each step is an event.
 */
final class StopEscalation {

  private final Vm vm;
  private final VmEvents events;
  private final Teardown teardown;
  private final Duration defaultGrace;
  private final Duration exitDeadline;

  StopEscalation(Vm vm, VmEvents events, Teardown teardown, Duration defaultGrace, Duration exitDeadline) {
    this.vm = vm;
    this.events = events;
    this.teardown = teardown;
    this.defaultGrace = defaultGrace;
    this.exitDeadline = exitDeadline;
  }

  /** Ends an active VM as STOPPED (FAILED if SIGKILL did not end it); nothing to do for an ended one. */
  Future<Void> stop(Duration timeout, boolean force) {
    if (!vm.state().isActive()) {
      return Future.succeededFuture();
    }
    vm.state().beginStop();
    Duration grace = timeout.isZero() ? defaultGrace : timeout;
    events.emit(EventType.STOP_REQUESTED, "StopRequested",
        force ? "forced stop: processes are killed at once" : "graceful stop, the guest has " + seconds(grace) + " to power off", null);
    return endMainProcess(grace, force)
        .compose(how -> teardown.endDeviceProcesses().map(summary -> how + "; " + summary))
        .transform(ar -> ar.succeeded() ? teardown.finish(Phase.PHASE_STOPPED, "Stopped", ar.result())
            : teardown.killFailed("stop", ar.cause()));
  }

  private Future<String> endMainProcess(Duration grace, boolean force) {
    VmProcess main = vm.processes().main();
    if (main == null || main.hasExited()) {
      return Future.succeededFuture("main QEMU already gone");
    }
    if (force || vm.qmp() == null) {
      return teardown.killAndWait(main, force ? "forced stop" : "no QMP connection to ask the guest");
    }
    return powerdown(main, grace)
        .recover(e -> quit(main, grace))
        .recover(e -> teardown.killAndWait(main, "main QEMU did not quit within " + seconds(exitDeadline)));
  }

  private Future<String> powerdown(VmProcess main, Duration grace) {
    events.emit(EventType.POWERDOWN_SENT, "PowerdownSent", "system_powerdown sent, waiting up to " + seconds(grace), null);
    return vm.qmp().execute("system_powerdown", new JsonObject(), Vm.QMP_TIMEOUT)
        .compose(r -> teardown.waitExit(main, grace))
        .map(v -> "guest powered off after system_powerdown");
  }

  private Future<String> quit(VmProcess main, Duration grace) {
    events.emit(EventType.QUIT_SENT, "QuitSent", "guest did not power off within " + seconds(grace) + "; sending quit", null);
    if (vm.qmp() == null) {
      return Future.failedFuture("no QMP connection");
    }
    return vm.qmp().execute("quit", new JsonObject(), Vm.QMP_TIMEOUT).<Void>mapEmpty()
        .recover(e -> Future.succeededFuture()) // QEMU may close the connection before it answers
        .compose(v -> teardown.waitExit(main, exitDeadline))
        .map(v -> "guest ignored the power button; main QEMU quit");
  }
}
