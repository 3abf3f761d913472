package io.mpqemu.agent.vm;

import io.mpqemu.errors.Failures;
import io.mpqemu.v1.EventType;
import io.mpqemu.v1.Phase;
import io.vertx.core.Future;
import io.vertx.core.json.JsonObject;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * Ends a VM's processes: waits for exits within deadlines, escalates to SIGKILL, and settles the VM
 * as STOPPED or FAILED. The building blocks of a stop, a failed launch and a failure.
 */
final class Teardown {

  /** How long a process gets to be gone after SIGKILL. */
  static final Duration AFTER_SIGKILL = Duration.ofSeconds(10);

  private final Vm vm;
  private final VmEvents events;
  private final VmRecordWriter writer;
  private final Timers timers;
  private final Duration exitDeadline;

  Teardown(Vm vm, VmEvents events, VmRecordWriter writer, Timers timers, Duration exitDeadline) {
    this.vm = vm;
    this.events = events;
    this.writer = writer;
    this.timers = timers;
    this.exitDeadline = exitDeadline;
  }

  /** SIGKILL to every process still alive, then wait for each; every pair is closed after. */
  Future<Void> killAll() {
    vm.closeQmp();
    List<Future<Void>> exits = new ArrayList<>();
    for (VmProcess p : vm.processes().all()) {
      if (!p.hasExited()) {
        p.kill();
        exits.add(waitExit(p, AFTER_SIGKILL));
      }
    }
    return Future.join(exits).transform(ar -> {
      vm.processes().closePairs();
      return Future.succeededFuture();
    });
  }

  /** Succeeds once {@code p} exited, fails if it has not within {@code within}. */
  Future<Void> waitExit(VmProcess p, Duration within) {
    if (p.hasExited()) {
      return Future.succeededFuture();
    }
    return timers.within(p.exited(), Duration.ofMillis(Math.max(1, within.toMillis())));
  }

  /** SIGKILL, reported with {@code why}, and wait for the exit. */
  Future<String> killAndWait(VmProcess p, String why) {
    events.emit(EventType.KILL_SENT, "KillSent", why + "; sending SIGKILL to pid " + p.pid(), p);
    p.kill();
    return waitExit(p, AFTER_SIGKILL).map(v -> why + "; killed")
        .recover(e -> Future.failedFuture("pid " + p.pid() + " did not die after SIGKILL"));
  }

  /** Tells the main QEMU to quit, then SIGKILLs it after the exit deadline. */
  Future<String> endMainProcess() {
    VmProcess main = vm.processes().main();
    if (main == null || main.hasExited()) {
      return Future.succeededFuture("main QEMU already gone");
    }
    Future<Void> asked = vm.qmp() != null
        ? vm.qmp().execute("quit", new JsonObject(), Vm.QMP_TIMEOUT).<Void>mapEmpty().recover(e -> Future.succeededFuture())
        : Future.succeededFuture();
    return asked.compose(v -> waitExit(main, exitDeadline))
        .map(v -> "main QEMU quit")
        .recover(e -> killAndWait(main, "main QEMU did not quit within " + seconds(exitDeadline)));
  }

  /**
   * The main QEMU is gone: closing our ends of the socketpairs lets each device process see its peer
   * gone, and it exits. Whatever is left after the exit deadline is killed.
   */
  Future<String> endDeviceProcesses() {
    vm.processes().closePairs();
    List<VmProcess> devices = vm.processes().devices();
    List<Future<Void>> exits = devices.stream().map(p -> waitExit(p, exitDeadline)).toList();
    return Future.join(exits).transform(ar -> {
      List<VmProcess> left = devices.stream().filter(p -> !p.hasExited()).toList();
      if (left.isEmpty()) {
        return Future.succeededFuture(devices.isEmpty() ? "no device process"
            : "device processes exited within " + seconds(exitDeadline));
      }
      List<Future<String>> kills = new ArrayList<>();
      for (VmProcess p : left) {
        kills.add(killAndWait(p, "device " + p.name() + " process still alive " + seconds(exitDeadline) + " after the main QEMU"));
      }
      return Future.join(kills).map(v -> "device process(es) " + left.stream().map(VmProcess::name).toList()
          + " killed after the " + seconds(exitDeadline) + " deadline");
    });
  }

  /**
   * The VM ends as {@code end} (STOPPED or FAILED): session and pairs closed, reported, recorded. The
   * QMP socket file goes once the main QEMU is gone: the agent made it, and QEMU unlinks it only when
   * it quits where it can see the state directory.
   */
  Future<Void> finish(Phase end, String why, String msg) {
    vm.closeQmp();
    vm.processes().closePairs();
    vm.state().finish(end, why, msg);
    events.emit(end == Phase.PHASE_STOPPED ? EventType.VM_STOPPED : EventType.VM_FAILED, why, msg, null);
    VmProcess main = vm.processes().main();
    Future<Void> socketRemoved = main == null || main.hasExited() ? writer.removeQmpSocket() : Future.succeededFuture();
    return socketRemoved.compose(v -> writer.persist());
  }

  /** SIGKILL did not end every process (one stuck in the kernel): the VM is FAILED, naming them. */
  Future<Void> killFailed(String what, Throwable cause) {
    return finish(Phase.PHASE_FAILED, "KillFailed", what + "; " + Failures.describe(cause) + "; still running: "
        + vm.processes().survivors());
  }

  /** "5 s", or "1500 ms" when not whole seconds. */
  static String seconds(Duration d) {
    return d.toMillis() % 1000 == 0 ? d.toSeconds() + " s" : d.toMillis() + " ms";
  }
}
