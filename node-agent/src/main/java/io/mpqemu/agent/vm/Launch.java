package io.mpqemu.agent.vm;

import io.mpqemu.agent.process.ExitStatus;
import io.mpqemu.agent.qemu.QemuCommandLine;
import io.mpqemu.errors.Failures;
import io.mpqemu.v1.AgentVm;
import io.mpqemu.v1.EventType;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import java.time.Duration;
import java.util.List;
import java.util.function.Supplier;

/**
 * Runs the launch steps in order and answers once the guest runs. A failed step, or a process of
 * the VM exiting meanwhile, undoes the launch: every process it started is killed, every socket
 * closed, the state directory removed, and LAUNCH_FAILED names the step with QEMU's last words.
 */
final class Launch {

  private final Vm vm;
  private final VmRuntime rt;
  private final LaunchSteps steps;
  private final VmEvents events;
  private final VmRecordWriter writer;
  private final Teardown teardown;
  private LaunchAttempt attempt = new LaunchAttempt();

  Launch(Vm vm, VmRuntime rt, LaunchSteps steps, VmEvents events, VmRecordWriter writer, Teardown teardown) {
    this.vm = vm;
    this.rt = rt;
    this.steps = steps;
    this.events = events;
    this.writer = writer;
    this.teardown = teardown;
  }

  Future<AgentVm> run(VmCommand.Launch command) {
    attempt = new LaunchAttempt();
    vm.beginLaunch(command.spec(), command.revision(), command.images(), rt.accelerator().qemuName());
    long started = System.nanoTime();
    events.emit(EventType.LAUNCH_STARTED, "LaunchStarted",
        "launching with " + QemuCommandLine.deviceProcesses(vm.spec()).size() + " proxied device(s) under " + vm.accelerator(), null);
    // the main QEMU first: its start-up (some 50 ms until its QMP greeting) is the launch's long pole, and
    // it needs nothing of the device processes until device_add; the socketpairs and the device processes
    // are made while it starts
    return step("create-state-dir", steps::createStateDir)
        .compose(v -> step("start-main-process", steps::startMainProcess))
        .compose(v -> step("open-socketpairs", steps::openSocketPairs))
        .compose(v -> step("start-device-processes", steps::startDeviceProcesses))
        .compose(v -> step("connect-qmp", () -> steps.connectQmp(attempt)))
        .compose(v -> step("add-proxy-devices", steps::addProxyDevices))
        .compose(v -> step("start-guest", steps::startGuest))
        .compose(v -> markRunning(Duration.ofNanos(System.nanoTime() - started)))
        .recover(this::fail);
  }

  /** A process of the VM exited while the launch runs: the current step fails. */
  void abort(VmProcess p, ExitStatus status) {
    attempt.abort(new StepFailure(attempt.step(), p.title() + " (pid " + p.pid() + ") exited during launch, " + status.describe()));
  }

  /** Runs one launch step; fails fast if a process of the VM exits meanwhile. */
  private Future<Void> step(String name, Supplier<Future<Void>> body) {
    attempt.enter(name);
    if (attempt.abortCause() != null) {
      return Future.failedFuture(new StepFailure(name, attempt.abortCause().getMessage()));
    }
    Promise<Void> done = Promise.promise();
    Future<Void> work;
    try {
      work = body.get();
    } catch (RuntimeException e) {
      work = Future.failedFuture(e);
    }
    // either may come first: the step's own result or a process of the VM exiting meanwhile
    work.onComplete(ar -> {
      if (ar.succeeded()) {
        done.tryComplete();
      } else {
        done.tryFail(ar.cause());
      }
    });
    attempt.aborted().onFailure(done::tryFail);
    return done.future().recover(e -> Future.failedFuture(
        e instanceof StepFailure ? e : new StepFailure(name, Failures.describe(e))));
  }

  private Future<AgentVm> markRunning(Duration took) {
    vm.launched(rt.now());
    events.emit(EventType.LAUNCHED, "Launched", "running with " + QemuCommandLine.deviceProcesses(vm.spec()).size() + " device process(es) under "
        + vm.accelerator() + ", launched in " + took.toMillis() + " ms", null);
    // answered only once launchComplete=true is on disk: a restarted agent then adopts, not undoes, it
    return writer.persist().map(v -> vm.toAgentVm());
  }

  private Future<AgentVm> fail(Throwable err) {
    String step = err instanceof StepFailure sf ? sf.step() : "launch";
    String detail = err instanceof StepFailure sf ? sf.detail() : Failures.describe(err);
    vm.state().launchFailing();
    // a step fails as soon as a process dies, while another may still be starting one on a worker:
    // wait for every start to settle, so that nothing started escapes the teardown
    return Future.join(vm.processes().spawns()).transform(ignored -> teardown.killAll())
        .compose(v -> lastWords())
        .transform(logs -> {
          String qemuSaid = logs.succeeded() && !logs.result().isEmpty() ? "; QEMU said: " + logs.result() : "";
          String msg = "launch failed at step " + step + ": " + detail + qemuSaid;
          return writer.forget().transform(ignored -> failed(msg));
        });
  }

  private Future<String> lastWords() {
    List<String> names = vm.processes().names();
    return rt.blocking(() -> ProcessLogs.lastLines(vm.paths(), names, 2));
  }

  private Future<AgentVm> failed(String msg) {
    vm.state().launchFailed(msg);
    events.emit(EventType.LAUNCH_FAILED, "LaunchFailed", msg, null);
    List<String> survivors = vm.processes().survivors();
    return Future.failedFuture(new VmException(VmException.Kind.LAUNCH_FAILED, "VM " + vm.id() + ": " + msg
        + (survivors.isEmpty() ? "; nothing was left running"
            : "; " + survivors + " still ran 10 s after SIGKILL: look at them on the host")));
  }
}
