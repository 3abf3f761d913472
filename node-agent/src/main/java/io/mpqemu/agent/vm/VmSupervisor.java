package io.mpqemu.agent.vm;

import io.mpqemu.agent.process.ExitStatus;
import io.mpqemu.agent.process.ProcessTable;
import io.mpqemu.agent.process.RunningProcess;
import io.mpqemu.agent.qemu.QemuCommandLine;
import io.mpqemu.agent.qemu.Qmp;
import io.mpqemu.agent.state.ProcessRecord;
import io.mpqemu.agent.state.VmPaths;
import io.mpqemu.agent.state.VmRecord;
import io.mpqemu.agent.unix.DevicePair;
import io.mpqemu.errors.Failures;
import io.mpqemu.v1.AgentVm;
import io.mpqemu.v1.EventType;
import io.mpqemu.v1.Phase;
import io.mpqemu.v1.ProcessRole;
import io.mpqemu.v1.ProxiedDevice;
import io.mpqemu.v1.VmEvent;
import io.mpqemu.v1.VmSpec;
import io.mpqemu.wire.Phases;
import io.mpqemu.wire.Timestamps;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.lang.ProcessBuilder.Redirect;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The state machine of one VM on this node. It launches the VM's processes in order, supervises
 * them, stops them, and adopts them after an agent restart. Every method runs on the agent's event
 * loop; blocking work goes through {@link VmRuntime#blocking}. Commands (launch, stop, delete) run one
 * at a time, in arrival order.
 */
public final class VmSupervisor {

  private static final Logger LOG = LoggerFactory.getLogger(VmSupervisor.class);
  private static final Duration QMP_TIMEOUT = Duration.ofSeconds(10);

  private final VmRuntime rt;
  private final String vmId;
  private final VmPaths paths;
  private VmSpec spec;
  private long specRevision;
  private Map<String, Path> images = Map.of();

  private Phase phase = Phase.PHASE_STOPPED;
  private String reason = "";
  private String message = "";
  private long vmSeq;
  private boolean launchComplete;
  private Instant launchedAt;
  private String accelerator = "";

  private final Map<String, Proc> procs = new LinkedHashMap<>();
  private final Map<String, DevicePair> pairs = new LinkedHashMap<>();
  /** Process starts of the current launch, registered or not yet: a failed launch waits for them. */
  private final List<Future<Void>> spawning = new ArrayList<>();
  private Qmp qmp;
  private Promise<Void> launchAbort = Promise.promise();
  private boolean stopping;
  private boolean tearingDown;
  private boolean guestShutdown;
  private boolean guestPanicked;
  private boolean dirReady;
  private boolean forgotten;
  private boolean reserved;
  private boolean detached;
  private String launchStep = "";

  private Future<?> commands = Future.succeededFuture();
  private Future<Void> lastWrite = Future.succeededFuture();
  private boolean writeQueued;

  VmSupervisor(VmRuntime rt, String vmId, VmSpec spec, long specRevision) {
    this.rt = rt;
    this.vmId = vmId;
    this.paths = rt.store().paths(vmId);
    this.spec = spec;
    this.specRevision = specRevision;
  }

  // ---------------------------------------------------------------- queries

  public String vmId() {
    return vmId;
  }

  public VmSpec spec() {
    return spec;
  }

  public Phase phase() {
    return phase;
  }

  public VmPaths paths() {
    return paths;
  }

  /** True once the agent no longer knows this VM (a failed launch or a delete removed it). */
  public boolean forgotten() {
    return forgotten;
  }

  /** Holds guest memory: about to launch, launching, running, paused or stopping. */
  public boolean holdsResources() {
    return reserved || isActive();
  }

  /** Has processes, or is about to: launching, running, paused or stopping. */
  public boolean isActive() {
    return phase == Phase.PHASE_LAUNCHING || phase == Phase.PHASE_RUNNING || phase == Phase.PHASE_PAUSED
        || phase == Phase.PHASE_STOPPING;
  }

  public AgentVm toAgentVm() {
    AgentVm.Builder b = AgentVm.newBuilder()
        .setVmId(vmId).setSpec(spec).setSpecRevision(specRevision).setPhase(phase)
        .setReason(reason).setMessage(message).setLastVmSeq(vmSeq).setAccelerator(accelerator);
    if (launchedAt != null) {
      b.setLaunchedAt(Timestamps.of(launchedAt));
    }
    for (Proc p : procsInSpecOrder()) {
      b.addProcesses(p.status());
    }
    return b.build();
  }

  /** Device processes in the spec's order (they start in parallel), then the main QEMU. */
  private List<Proc> procsInSpecOrder() {
    List<Proc> ordered = new ArrayList<>();
    for (ProxiedDevice d : spec.getDevicesList()) {
      Proc p = procs.get(d.getId());
      if (p != null) {
        ordered.add(p);
      }
    }
    Proc main = procs.get(VmPaths.MAIN);
    if (main != null) {
      ordered.add(main);
    }
    return ordered;
  }

  /**
   * The agent is stopping: let go of the VM without touching it. QMP is closed (QEMU serves one
   * client at a time, and the next agent will want it); processes and socketpairs are left as they
   * are (closing a pair would cut the VM's proxy); later callbacks are ignored.
   */
  void detach() {
    detached = true;
    if (qmp != null) {
      qmp.close();
      qmp = null;
    }
  }

  // ---------------------------------------------------------------- commands

  /** Counts this VM's memory against the node from now until its launch is decided. */
  void reserve(boolean on) {
    reserved = on;
  }

  /** Launches the VM unless it is already up; the future completes once the guest runs. */
  public Future<AgentVm> launch(VmSpec newSpec, long revision, Map<String, Path> diskImages) {
    return enqueue(() -> {
      if (isActive()) {
        return Future.succeededFuture(toAgentVm());
      }
      this.spec = newSpec;
      this.specRevision = revision;
      this.images = Map.copyOf(diskImages);
      return doLaunch();
    });
  }

  public Future<AgentVm> stop(Duration timeout, boolean force) {
    if (timeout.isNegative()) {
      return Future.failedFuture(new IllegalArgumentException("a stop timeout cannot be negative: " + timeout));
    }
    return enqueue(() -> doStop(timeout, force).map(v -> toAgentVm()));
  }

  /** Removes a stopped VM and its state directory; a running one only with force (stopped at once). */
  public Future<Void> delete(boolean force) {
    return enqueue(() -> {
      if (isActive() && !force) {
        return Future.failedFuture(new VmException(VmException.Kind.WRONG_PHASE,
            "VM " + vmId + " is " + Phases.name(phase) + "; stop it first, or delete with force"));
      }
      return doStop(Duration.ZERO, true).compose(v -> forget()).map(v -> {
        phase = Phase.PHASE_DELETED;
        reason = "Deleted";
        emit(EventType.VM_DELETED, "Deleted", "VM and its state directory removed", null);
        return null;
      });
    });
  }

  private <T> Future<T> enqueue(Supplier<Future<T>> command) {
    Future<T> result = commands.transform(ignored -> {
      if (detached) {
        return Future.failedFuture(new VmException(VmException.Kind.UNAVAILABLE, "the agent is stopping"));
      }
      if (forgotten) {
        return Future.failedFuture(new VmException(VmException.Kind.NOT_FOUND, "VM " + vmId + " does not exist on this node"));
      }
      return command.get();
    });
    commands = result.transform(ignored -> Future.succeededFuture());
    return result;
  }

  // ---------------------------------------------------------------- launch

  private Future<AgentVm> doLaunch() {
    procs.clear();
    pairs.clear();
    spawning.clear();
    qmp = null;
    launchAbort = Promise.promise();
    stopping = tearingDown = guestShutdown = guestPanicked = false;
    launchComplete = false;
    launchedAt = null;
    accelerator = rt.accelerator().qemuName();
    phase = Phase.PHASE_LAUNCHING;
    reason = "Launching";
    message = "";
    long started = System.nanoTime();
    emit(EventType.LAUNCH_STARTED, "LaunchStarted",
        "launching with " + spec.getDevicesCount() + " proxied device(s) under " + accelerator, null);
    return step("create-state-dir", this::createStateDir)
        .compose(v -> step("open-socketpairs", this::openSocketPairs))
        .compose(v -> step("start-device-processes", this::startDeviceProcesses))
        .compose(v -> step("start-main-process", this::startMainProcess))
        .compose(v -> step("connect-qmp", this::connectQmp))
        .compose(v -> step("add-proxy-devices", this::addProxyDevices))
        .compose(v -> step("start-guest", this::startGuest))
        .compose(v -> markRunning(Duration.ofNanos(System.nanoTime() - started)))
        .recover(this::failLaunch);
  }

  /** Runs one launch step; fails fast if a process of the VM exits meanwhile. */
  private Future<Void> step(String name, Supplier<Future<Void>> body) {
    launchStep = name;
    if (launchAbort.future().failed()) {
      return Future.failedFuture(new StepFailure(name, launchAbort.future().cause().getMessage()));
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
    launchAbort.future().onFailure(done::tryFail);
    return done.future().recover(e -> Future.failedFuture(
        e instanceof StepFailure ? e : new StepFailure(name, Failures.describe(e))));
  }

  private Future<Void> createStateDir() {
    return rt.blocking(() -> {
      rt.store().createVmDir(paths);
      Files.deleteIfExists(paths.qmpSocket());
      for (ProxiedDevice d : spec.getDevicesList()) {
        Files.deleteIfExists(paths.pidFile(d.getId()));
      }
      Files.deleteIfExists(paths.pidFile(VmPaths.MAIN));
      return null;
    }).map(v -> {
      // the record (launchComplete=false) is written in the background: a restarted agent finds a
      // half-launched VM's processes through /proc whether or not it was written yet
      dirReady = true;
      persist();
      return null;
    });
  }

  private Future<Void> openSocketPairs() {
    return rt.blocking(() -> {
      Map<String, DevicePair> opened = new LinkedHashMap<>();
      try {
        for (ProxiedDevice d : spec.getDevicesList()) {
          opened.put(d.getId(), rt.socketPairs().open());
        }
      } catch (IOException | RuntimeException e) {
        opened.values().forEach(DevicePair::close);
        throw e;
      }
      return opened;
    }).map(opened -> {
      pairs.putAll(opened);
      return null;
    });
  }

  private Future<Void> startDeviceProcesses() {
    List<Future<Void>> starts = new ArrayList<>();
    for (ProxiedDevice d : spec.getDevicesList()) {
      List<String> argv = rt.commandLine().remote(paths, d, images);
      DevicePair pair = pairs.get(d.getId());
      starts.add(startProcess(d.getId(), ProcessRole.PROCESS_ROLE_DEVICE, argv, pair::remoteEndAsStdin));
    }
    return Future.all(starts).mapEmpty();
  }

  private Future<Void> startMainProcess() {
    List<String> argv = rt.commandLine().main(paths, spec, rt.accelerator());
    return startProcess(VmPaths.MAIN, ProcessRole.PROCESS_ROLE_MAIN, argv, () -> Redirect.from(Path.of("/dev/null").toFile()));
  }

  private Future<Void> startProcess(String name, ProcessRole role, List<String> argv, Callable<Redirect> stdin) {
    Future<Void> started = rt.blocking(() -> rt.launcher().start(argv, stdin.call(), paths.processLog(name))).map(rp -> {
      // registered even when the launch was aborted meanwhile, so that its teardown kills it too
      Proc p = new Proc(name, role, rp);
      procs.put(name, p);
      watch(p);
      emit(EventType.PROCESS_STARTED, "ProcessStarted",
          (role == ProcessRole.PROCESS_ROLE_MAIN ? "main QEMU" : "device " + name + " process") + " started, pid " + rp.pid(), p);
      return null;
    });
    spawning.add(started);
    return started;
  }

  private Future<Void> connectQmp() {
    return rt.qmp().connect(vmId, paths.qmpSocket()).compose(client -> {
      if (launchAbort.future().failed()) {
        client.close();
        return Future.failedFuture(launchAbort.future().cause());
      }
      attachQmp(client);
      return rt.blocking(() -> {
        Files.setPosixFilePermissions(paths.qmpSocket(), PosixFilePermissions.fromString("rw-------"));
        return null;
      });
    });
  }

  private Future<Void> addProxyDevices() {
    Future<Void> chain = Future.succeededFuture();
    for (ProxiedDevice d : spec.getDevicesList()) {
      String fdName = "fd-" + d.getId();
      chain = chain
          .compose(v -> qmp.getfd(fdName, pairs.get(d.getId()).mainEnd(), QMP_TIMEOUT))
          .compose(v -> qmp.execute("device_add", QemuCommandLine.proxyDeviceArguments(spec, d, fdName), QMP_TIMEOUT))
          .mapEmpty();
    }
    return chain;
  }

  private Future<Void> startGuest() {
    return qmp.execute("cont", new JsonObject(), QMP_TIMEOUT).mapEmpty();
  }

  private Future<AgentVm> markRunning(Duration took) {
    phase = Phase.PHASE_RUNNING;
    reason = "Running";
    message = "";
    launchComplete = true;
    launchedAt = rt.now();
    emit(EventType.LAUNCHED, "Launched", "running with " + spec.getDevicesCount() + " device process(es) under "
        + accelerator + ", launched in " + took.toMillis() + " ms", null);
    // answered only once launchComplete=true is on disk: a restarted agent then adopts, not undoes, it
    return persist().map(v -> toAgentVm());
  }

  private Future<AgentVm> failLaunch(Throwable err) {
    String step = err instanceof StepFailure sf ? sf.step : "launch";
    String detail = err instanceof StepFailure sf ? sf.detail : Failures.describe(err);
    tearingDown = true;
    // a step fails as soon as a process dies, while another may still be starting one on a worker:
    // wait for every start to settle, so that nothing started escapes the teardown
    return Future.join(List.copyOf(spawning)).transform(ignored -> killAll())
        .compose(v -> rt.blocking(() -> ProcessLogs.lastLines(paths, procs.keySet(), 2)))
        .transform(logs -> {
          String qemuSaid = logs.succeeded() && !logs.result().isEmpty() ? "; QEMU said: " + logs.result() : "";
          String msg = "launch failed at step " + step + ": " + detail + qemuSaid;
          return forget().transform(ignored -> {
            phase = Phase.PHASE_FAILED;
            reason = "LaunchFailed";
            message = msg;
            emit(EventType.LAUNCH_FAILED, "LaunchFailed", msg, null);
            List<String> survivors = survivors();
            return Future.failedFuture(new VmException(VmException.Kind.LAUNCH_FAILED, "VM " + vmId + ": " + msg
                + (survivors.isEmpty() ? "; nothing was left running"
                    : "; " + survivors + " still ran 10 s after SIGKILL: look at them on the host")));
          });
        });
  }

  // ---------------------------------------------------------------- supervision

  private void watch(Proc p) {
    p.rp.onExit().whenComplete((status, error) -> rt.runOnLoop(() ->
        onProcessExit(p, status != null ? status : ExitStatus.unknown())));
  }

  private void onProcessExit(Proc p, ExitStatus status) {
    if (detached) {
      return;
    }
    p.exit = status;
    closePairOf(p);
    String what = p.isMain() ? "main QEMU" : "device " + p.name + " process";
    emit(EventType.PROCESS_EXITED, p.isMain() ? "MainProcessExited" : "DeviceProcessExited",
        what + " (pid " + p.rp.pid() + ") " + status.describe(), p);
    p.exited.tryComplete();
    if (phase == Phase.PHASE_LAUNCHING && !tearingDown) {
      launchAbort.tryFail(new StepFailure(launchStep, what + " (pid " + p.rp.pid() + ") exited during launch, " + status.describe()));
      return;
    }
    if (stopping || tearingDown || !isActive()) {
      return;
    }
    tearingDown = true;
    enqueue(() -> unexpectedExit(p, status));
  }

  private Future<Void> unexpectedExit(Proc p, ExitStatus status) {
    if (p.isMain()) {
      boolean clean = guestShutdown && !guestPanicked;
      Phase end = clean ? Phase.PHASE_STOPPED : Phase.PHASE_FAILED;
      String why = clean ? "GuestShutdown" : guestPanicked ? "GuestPanicked" : "MainProcessExited";
      String msg = clean ? "guest shut down; main QEMU exited" : "main QEMU (pid " + p.rp.pid() + ") " + status.describe();
      return endDeviceProcesses().transform(ar -> ar.succeeded()
          ? finish(end, why, msg + "; " + ar.result()) : killFailed(msg, ar.cause()));
    }
    String msg = "device " + p.name + " process (pid " + p.rp.pid() + ") " + status.describe();
    return rt.blocking(() -> ProcessLogs.lastLines(paths, List.of(p.name), 2)).otherwise("")
        .compose(said -> endMainProcess().map(how -> (said.isEmpty() ? "" : "QEMU said: " + said + "; ") + how))
        .compose(how -> endDeviceProcesses().map(summary -> how + "; " + summary))
        .transform(ar -> ar.succeeded()
            ? finish(Phase.PHASE_FAILED, "DeviceProcessExited", msg + "; " + ar.result()) : killFailed(msg, ar.cause()));
  }

  /** SIGKILL did not end every process (one stuck in the kernel): the VM is FAILED, naming them. */
  private Future<Void> killFailed(String what, Throwable cause) {
    return finish(Phase.PHASE_FAILED, "KillFailed", what + "; " + Failures.describe(cause) + "; still running: "
        + survivors());
  }

  private List<String> survivors() {
    return procs.values().stream().filter(p -> p.exit == null).map(p -> p.name + " (pid " + p.rp.pid() + ")").toList();
  }

  /** Tells the main QEMU to quit, then SIGKILLs it after the exit deadline. */
  private Future<String> endMainProcess() {
    Proc main = procs.get(VmPaths.MAIN);
    if (main == null || main.exit != null) {
      return Future.succeededFuture("main QEMU already gone");
    }
    Future<Void> asked = qmp != null
        ? qmp.execute("quit", new JsonObject(), QMP_TIMEOUT).<Void>mapEmpty().recover(e -> Future.succeededFuture())
        : Future.succeededFuture();
    return asked.compose(v -> waitExit(main, rt.config().exitDeadline()))
        .map(v -> "main QEMU quit")
        .recover(e -> killAndWait(main, "main QEMU did not quit within " + seconds(rt.config().exitDeadline())));
  }

  /**
   * The main QEMU is gone: closing our ends of the socketpairs lets each device process see its peer
   * gone, and it exits. Whatever is left after the exit deadline is killed.
   */
  private Future<String> endDeviceProcesses() {
    pairs.values().forEach(DevicePair::close);
    List<Proc> devices = procs.values().stream().filter(p -> !p.isMain()).toList();
    List<Future<Void>> exits = devices.stream().map(p -> waitExit(p, rt.config().exitDeadline())).toList();
    return Future.join(exits).transform(ar -> {
      List<Proc> left = devices.stream().filter(p -> p.exit == null).toList();
      if (left.isEmpty()) {
        return Future.succeededFuture(devices.isEmpty() ? "no device process"
            : "device processes exited within " + seconds(rt.config().exitDeadline()));
      }
      List<Future<String>> kills = new ArrayList<>();
      for (Proc p : left) {
        kills.add(killAndWait(p, "device " + p.name + " process still alive " + seconds(rt.config().exitDeadline()) + " after the main QEMU"));
      }
      return Future.join(kills).map(v -> "device process(es) " + left.stream().map(p -> p.name).toList()
          + " killed after the " + seconds(rt.config().exitDeadline()) + " deadline");
    });
  }

  private Future<String> killAndWait(Proc p, String why) {
    emit(EventType.KILL_SENT, "KillSent", why + "; sending SIGKILL to pid " + p.rp.pid(), p);
    p.rp.kill();
    return waitExit(p, Duration.ofSeconds(10)).map(v -> why + "; killed")
        .recover(e -> Future.failedFuture("pid " + p.rp.pid() + " did not die after SIGKILL"));
  }

  private Future<Void> finish(Phase end, String why, String msg) {
    if (qmp != null) {
      qmp.close();
      qmp = null;
    }
    pairs.values().forEach(DevicePair::close);
    phase = end;
    reason = why;
    message = msg;
    stopping = false;
    tearingDown = false;
    emit(end == Phase.PHASE_STOPPED ? EventType.VM_STOPPED : EventType.VM_FAILED, why, msg, null);
    return persist();
  }

  /** SIGKILL to every process still alive, then wait for each. */
  private Future<Void> killAll() {
    if (qmp != null) {
      qmp.close();
      qmp = null;
    }
    List<Future<Void>> exits = new ArrayList<>();
    for (Proc p : procs.values()) {
      if (p.exit == null) {
        p.rp.kill();
        exits.add(waitExit(p, Duration.ofSeconds(10)));
      }
    }
    return Future.join(exits).transform(ar -> {
      pairs.values().forEach(DevicePair::close);
      return Future.succeededFuture();
    });
  }

  private Future<Void> waitExit(Proc p, Duration within) {
    if (p.exit != null) {
      return Future.succeededFuture();
    }
    return p.exited.future().timeout(Math.max(1, within.toMillis()), TimeUnit.MILLISECONDS);
  }

  private void closePairOf(Proc p) {
    if (p.isMain()) {
      return; // the device processes learn of it when the teardown closes every pair
    }
    DevicePair pair = pairs.get(p.name);
    if (pair != null) {
      pair.close();
    }
  }

  // ---------------------------------------------------------------- stop

  private Future<Void> doStop(Duration timeout, boolean force) {
    if (!isActive()) {
      return Future.succeededFuture();
    }
    stopping = true;
    phase = Phase.PHASE_STOPPING;
    Duration grace = timeout.isZero() ? rt.config().stopTimeout() : timeout;
    emit(EventType.STOP_REQUESTED, "StopRequested",
        force ? "forced stop: processes are killed at once" : "graceful stop, the guest has " + seconds(grace) + " to power off", null);
    Proc main = procs.get(VmPaths.MAIN);
    Future<String> mainGone;
    if (main == null || main.exit != null) {
      mainGone = Future.succeededFuture("main QEMU already gone");
    } else if (force || qmp == null) {
      mainGone = killAndWait(main, force ? "forced stop" : "no QMP connection to ask the guest");
    } else {
      mainGone = powerdown(main, grace)
          .recover(e -> quit(main, grace))
          .recover(e -> killAndWait(main, "main QEMU did not quit within " + seconds(rt.config().exitDeadline())));
    }
    return mainGone
        .compose(how -> endDeviceProcesses().map(summary -> how + "; " + summary))
        .transform(ar -> ar.succeeded() ? finish(Phase.PHASE_STOPPED, "Stopped", ar.result())
            : killFailed("stop", ar.cause()));
  }

  private Future<String> powerdown(Proc main, Duration grace) {
    emit(EventType.POWERDOWN_SENT, "PowerdownSent", "system_powerdown sent, waiting up to " + seconds(grace), null);
    return qmp.execute("system_powerdown", new JsonObject(), QMP_TIMEOUT)
        .compose(r -> waitExit(main, grace))
        .map(v -> "guest powered off after system_powerdown");
  }

  private Future<String> quit(Proc main, Duration grace) {
    emit(EventType.QUIT_SENT, "QuitSent", "guest did not power off within " + seconds(grace) + "; sending quit", null);
    if (qmp == null) {
      return Future.failedFuture("no QMP connection");
    }
    return qmp.execute("quit", new JsonObject(), QMP_TIMEOUT).<Void>mapEmpty()
        .recover(e -> Future.succeededFuture()) // QEMU may close the connection before it answers
        .compose(v -> waitExit(main, rt.config().exitDeadline()))
        .map(v -> "guest ignored the power button; main QEMU quit");
  }

  // ---------------------------------------------------------------- QMP events

  private void attachQmp(Qmp client) {
    this.qmp = client;
    client.eventHandler(this::onQmpEvent);
  }

  private void onQmpEvent(JsonObject event) {
    if (detached) {
      return;
    }
    String name = event.getString("event", "");
    JsonObject data = event.getJsonObject("data", new JsonObject());
    switch (name) {
      case "SHUTDOWN" -> {
        if (data.getBoolean("guest", false)) {
          guestShutdown = true;
          emit(EventType.GUEST_SHUTDOWN, "GuestShutdown", "the guest shut down (" + data.getString("reason", "") + ")", null);
        }
      }
      case "RESET" -> emit(EventType.GUEST_RESET, "GuestReset",
          "the guest reset (" + data.getString("reason", "") + ")", null);
      case "STOP" -> {
        if (phase == Phase.PHASE_RUNNING && !stopping && !tearingDown) {
          phase = Phase.PHASE_PAUSED;
          emit(EventType.GUEST_PAUSED, "GuestPaused", "guest CPUs stopped", null);
        }
      }
      case "RESUME" -> {
        if (phase == Phase.PHASE_PAUSED) {
          phase = Phase.PHASE_RUNNING;
          emit(EventType.GUEST_RESUMED, "GuestResumed", "guest CPUs running again", null);
        }
      }
      case "GUEST_PANICKED" -> {
        guestPanicked = true;
        emit(EventType.GUEST_PANICKED, "GuestPanicked", "the guest panicked: " + data.encode(), null);
      }
      default -> LOG.debug("vm={} qmp event {}", vmId, name);
    }
  }

  // ---------------------------------------------------------------- adoption

  /** Takes over a VM found in its state directory when the agent starts. */
  Future<Void> adopt(VmRecord rec, List<Long> pidsFound) {
    this.spec = rec.spec();
    this.specRevision = rec.specRevision();
    this.vmSeq = rec.lastVmSeq();
    this.phase = rec.phase();
    this.reason = rec.reason();
    this.message = rec.message();
    this.launchComplete = rec.launchComplete();
    this.launchedAt = rec.launchedAt();
    this.accelerator = rec.accelerator();
    this.dirReady = true;
    return enqueue(() -> {
      if (!rec.launchComplete()) {
        return abandonLaunch(pidsFound);
      }
      List<Long> known = new ArrayList<>();
      List<String> dead = new ArrayList<>();
      for (ProcessRecord pr : rec.processes()) {
        known.add(pr.pid());
        ProcessRole role = pr.isMain() ? ProcessRole.PROCESS_ROLE_MAIN : ProcessRole.PROCESS_ROLE_DEVICE;
        var adopted = rt.launcher().adopt(pr.pid(), pr.startedAt());
        if (adopted.isPresent()) {
          Proc p = new Proc(pr.name(), role, adopted.get());
          procs.put(pr.name(), p);
        } else if (rec.phase() != Phase.PHASE_STOPPED && rec.phase() != Phase.PHASE_FAILED) {
          dead.add(pr.name() + " (pid " + pr.pid() + ")");
        }
      }
      List<Long> strays = pidsFound.stream().filter(pid -> !known.contains(pid)).toList();
      Future<Void> strayKill = strays.isEmpty() ? Future.succeededFuture() : killStrays(strays);
      if (!isActive() || procs.isEmpty() && dead.isEmpty()) {
        procs.values().forEach(p -> p.rp.kill());
        procs.clear();
        if (isActive()) {
          phase = Phase.PHASE_FAILED;
          reason = "ExitedWhileDetached";
        }
        return strayKill.compose(v -> persist());
      }
      procs.values().forEach(this::watch);
      if (!dead.isEmpty()) {
        tearingDown = true;
        String msg = "process(es) " + dead + " exited while no agent was watching";
        emit(EventType.LOST_WHILE_DETACHED, "ExitedWhileDetached", msg, null);
        return strayKill.compose(v -> killAll()).compose(v -> finish(Phase.PHASE_FAILED, "ExitedWhileDetached", msg));
      }
      return strayKill.compose(v -> reconnectQmp());
    });
  }

  private Future<Void> reconnectQmp() {
    return rt.qmp().connect(vmId, paths.qmpSocket())
        .compose(client -> {
          attachQmp(client);
          return client.execute("query-status", new JsonObject(), QMP_TIMEOUT);
        })
        .transform(ar -> {
          Proc main = procs.get(VmPaths.MAIN);
          String pids = procs.values().stream().map(p -> p.name + "=" + p.rp.pid()).toList().toString();
          if (ar.succeeded()) {
            boolean running = ar.result().getBoolean("running", false);
            boolean wasStopping = phase == Phase.PHASE_STOPPING;
            phase = running ? Phase.PHASE_RUNNING : Phase.PHASE_PAUSED;
            emit(EventType.ADOPTED, "Adopted", "found running after an agent restart and supervised again: " + pids, null);
            if (wasStopping) {
              LOG.info("vm={} was being stopped when the agent went away; finishing the stop", vmId);
              enqueue(() -> doStop(Duration.ZERO, false));
            }
          } else {
            LOG.warn("vm={} QMP reconnect failed: {}; supervising its processes without QMP", vmId, Failures.describe(ar.cause()));
            phase = main != null ? Phase.PHASE_RUNNING : Phase.PHASE_FAILED;
            emit(EventType.ADOPTED, "AdoptedWithoutQmp", "processes adopted but QMP is unreachable ("
                + Failures.describe(ar.cause()) + "); a stop will kill them: " + pids, null);
          }
          return persist();
        });
  }

  private Future<Void> abandonLaunch(List<Long> pidsFound) {
    return killStrays(pidsFound).compose(v -> forget()).map(v -> {
      phase = Phase.PHASE_FAILED;
      reason = "LaunchAbandoned";
      message = "a launch interrupted by an agent restart was cleaned up: killed " + pidsFound.size()
          + " process(es) " + pidsFound + " and removed its state directory";
      emit(EventType.LAUNCH_ABANDONED, "LaunchAbandoned", message, null);
      return null;
    });
  }

  private Future<Void> killStrays(List<Long> pids) {
    return rt.blocking(() -> {
      if (!ProcessTable.killAndAwait(pids, Duration.ofSeconds(10))) {
        throw new IllegalStateException("processes " + pids + " still run 10 s after SIGKILL");
      }
      return null;
    });
  }

  // ---------------------------------------------------------------- state

  private Future<Void> forget() {
    return lastWrite.transform(ignored -> {
      forgotten = true;
      return rt.blocking(() -> {
        rt.store().delete(paths);
        return null;
      });
    });
  }

  private VmRecord record() {
    List<ProcessRecord> recs = new ArrayList<>();
    for (Proc p : procsInSpecOrder()) {
      if (p.exit == null) {
        recs.add(new ProcessRecord(p.name, p.rp.pid(), p.rp.startedAt()));
      }
    }
    return new VmRecord(vmId, spec, specRevision, phase, reason, message, vmSeq, launchComplete, accelerator, launchedAt, recs);
  }

  /** Writes the record; writes asked for while one waits are folded into it. */
  private Future<Void> persist() {
    if (!dirReady || forgotten || detached) {
      return Future.succeededFuture();
    }
    if (writeQueued) {
      return lastWrite;
    }
    writeQueued = true;
    lastWrite = lastWrite.transform(ignored -> {
      writeQueued = false;
      if (forgotten) {
        return Future.succeededFuture();
      }
      VmRecord snapshot = record();
      return rt.blocking(() -> {
        rt.store().write(paths, snapshot);
        return null;
      }).<Void>mapEmpty().recover(e -> {
        LOG.warn("vm={} cannot write its state file: {}", vmId, Failures.describe(e));
        return Future.succeededFuture();
      });
    });
    return lastWrite;
  }

  private void emit(EventType type, String why, String msg, Proc p) {
    if (detached) {
      return;
    }
    vmSeq++;
    VmEvent.Builder e = VmEvent.newBuilder()
        .setVmSeq(vmSeq).setVmId(vmId).setVmName(spec.getName()).setNode(rt.nodeId())
        .setType(type).setPhase(phase).setReason(why).setMessage(msg).setTime(Timestamps.of(rt.now()));
    if (p != null) {
      e.setProcess(p.status());
    }
    rt.events().publish(e.build());
    persist();
  }

  private static String seconds(Duration d) {
    return d.toMillis() % 1000 == 0 ? d.toSeconds() + " s" : d.toMillis() + " ms";
  }

  /** A launch step that failed, and why. */
  private static final class StepFailure extends RuntimeException {
    final String step;
    final String detail;

    StepFailure(String step, String detail) {
      super("step " + step + ": " + detail, null, false, false);
      this.step = step;
      this.detail = detail;
    }
  }

  /** One QEMU process of this VM. */
  private static final class Proc {
    final String name;
    final ProcessRole role;
    final RunningProcess rp;
    final Promise<Void> exited = Promise.promise();
    ExitStatus exit;

    Proc(String name, ProcessRole role, RunningProcess rp) {
      this.name = name;
      this.role = role;
      this.rp = rp;
    }

    boolean isMain() {
      return role == ProcessRole.PROCESS_ROLE_MAIN;
    }

    io.mpqemu.v1.ProcessStatus status() {
      return Protos.processStatus(name, role, rp.pid(), rp.startedAt(), exit);
    }
  }
}
