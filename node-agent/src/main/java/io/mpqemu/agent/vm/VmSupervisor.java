package io.mpqemu.agent.vm;

import io.mpqemu.agent.images.OpenImages;
import io.mpqemu.agent.process.ExitStatus;
import io.mpqemu.agent.state.VmPaths;
import io.mpqemu.agent.state.VmRecord;
import io.mpqemu.v1.AgentVm;
import io.mpqemu.v1.EventType;
import io.mpqemu.v1.Phase;
import io.mpqemu.v1.VmSpec;
import io.vertx.core.Future;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;

/**
 * The supervisor of one VM on this node: it takes {@link VmCommand}s one at a time, in arrival
 * order, refuses those its {@link Lifecycle} does not allow, and hands each to the part that does
 * it: {@link Launch}, {@link StopEscalation}, {@link UnexpectedExit}, {@link Adoption}. Every method
 * runs on the agent's event loop; blocking work goes through {@link VmRuntime#blocking}.
 */
public final class VmSupervisor {

  private final Vm vm;
  private final VmRecordWriter writer;
  private final VmEvents events;
  private final Launch launch;
  private final StopEscalation stops;
  private final UnexpectedExit unexpectedExit;
  private final Adoption adoption;
  private Future<?> commands = Future.succeededFuture();

  VmSupervisor(VmRuntime rt, String vmId, VmSpec spec, long specRevision) {
    vm = new Vm(vmId, rt.store().paths(vmId), spec, specRevision);
    writer = new VmRecordWriter(vm, rt);
    events = new VmEvents(vm, rt, writer);
    Teardown teardown = new Teardown(vm, events, writer, rt.timers(), rt.config().exitDeadline());
    QmpEvents qmpEvents = new QmpEvents(vm, events);
    ProcessWatcher watcher = new ProcessWatcher(vm, events, rt, this::afterExit);
    launch = new Launch(vm, rt, new LaunchSteps(vm, rt, events, writer, watcher, qmpEvents), events, writer, teardown);
    stops = new StopEscalation(vm, events, teardown, rt.config().stopTimeout(), rt.config().exitDeadline());
    unexpectedExit = new UnexpectedExit(vm, rt, teardown);
    adoption = new Adoption(vm, rt, events, writer, teardown, watcher, qmpEvents, command -> submit(command));
  }

  // ---------------------------------------------------------------- queries

  public String vmId() {
    return vm.id();
  }

  public VmSpec spec() {
    return vm.spec();
  }

  public Phase phase() {
    return vm.state().phase();
  }

  public VmPaths paths() {
    return vm.paths();
  }

  /** True once the agent no longer knows this VM (a failed launch or a delete removed it). */
  public boolean forgotten() {
    return vm.state().forgotten();
  }

  /** Has processes, or is about to: launching, running, paused or stopping. */
  public boolean isActive() {
    return vm.state().isActive();
  }

  public AgentVm toAgentVm() {
    return vm.toAgentVm();
  }

  // ---------------------------------------------------------------- commands

  /** Launches the VM unless it is already up; the future completes once the guest runs. */
  public Future<AgentVm> launch(VmSpec newSpec, long revision, OpenImages diskImages) {
    return submit(new VmCommand.Launch(newSpec, revision, diskImages));
  }

  public Future<AgentVm> stop(Duration timeout, boolean force) {
    if (timeout.isNegative()) {
      return Future.failedFuture(new IllegalArgumentException("a stop timeout cannot be negative: " + timeout));
    }
    return submit(new VmCommand.Stop(timeout, force));
  }

  /** Removes a stopped VM and its state directory; a running one only with force (stopped at once). */
  public Future<Void> delete(boolean force) {
    return submit(new VmCommand.Delete(force));
  }

  /**
   * The serial output of this launch matched the spec's ready_pattern: recorded with a GUEST_READY event,
   * once per launch (a launch begins unready); ignored when the VM no longer runs or was already ready.
   * The console that matched is closed when a launch ends, so a match never outlives its launch.
   */
  public void guestReady(Instant at) {
    if (vm.guestReadyAt() != null || !vm.state().isActive()) {
      return;
    }
    vm.guestReady(at);
    events.guestReady();
  }

  /** A NIC of the running VM has a new address (from the node's neighbour table): one event; ignored once it stops. */
  public void nicAddressLearnt(String nicId, String mac, String address) {
    if (vm.state().isActive()) {
      events.nicAddressLearnt(nicId, mac, address);
    }
  }

  /** Takes over a VM found in its state directory when the agent starts. */
  Future<Void> adopt(VmRecord rec, List<Long> pidsFound) {
    vm.restore(rec);
    return submit(new VmCommand.Adopt(rec, pidsFound));
  }

  /**
   * The agent is stopping: let go of the VM without touching it. QMP is closed (QEMU serves one
   * client at a time, and the next agent will want it); processes and socketpairs are left as they
   * are (closing a pair would cut the VM's proxy); later callbacks are ignored.
   */
  void detach() {
    vm.state().detach();
    vm.closeQmp();
  }

  /** Queues {@code command} behind the ones before it; it runs unless the state then refuses it. */
  <T> Future<T> submit(VmCommand<T> command) {
    Future<T> result = commands.transform(ignored -> {
      VmException refused = command.refusal(vm.id(), vm.state());
      return refused != null ? Future.failedFuture(refused) : run(command);
    });
    commands = result.transform(ignored -> Future.succeededFuture());
    return result;
  }

  @SuppressWarnings("unchecked") // each command's handler answers the command's own type
  private <T> Future<T> run(VmCommand<T> command) {
    return (Future<T>) dispatch(command);
  }

  private Future<?> dispatch(VmCommand<?> command) {
    if (command instanceof VmCommand.Launch l) {
      return vm.state().isActive() ? Future.succeededFuture(vm.toAgentVm()) : launch.run(l);
    } else if (command instanceof VmCommand.Stop s) {
      return stops.stop(s.timeout(), s.force()).map(v -> vm.toAgentVm());
    } else if (command instanceof VmCommand.Delete) {
      return stops.stop(Duration.ZERO, true).compose(v -> writer.forget()).map(v -> deleted());
    } else if (command instanceof VmCommand.Adopt a) {
      return adoption.adopt(a);
    } else if (command instanceof VmCommand.FinishStop) {
      return stops.stop(Duration.ZERO, false);
    } else if (command instanceof VmCommand.EndAfterExit e) {
      return unexpectedExit.handle(e.process(), e.status());
    }
    throw new IllegalStateException("no handler for " + command);
  }

  private Void deleted() {
    vm.state().deleted();
    events.emit(EventType.VM_DELETED, "Deleted", "VM and its state directory removed", null);
    return null;
  }

  /** What a process exit means: during a launch it aborts it; while the VM runs it ends the VM. */
  private void afterExit(VmProcess p, ExitStatus status) {
    Lifecycle state = vm.state();
    if (state.activity() == Lifecycle.Activity.LAUNCHING) {
      launch.abort(p, status);
      return;
    }
    if (state.activity() != Lifecycle.Activity.IDLE || !state.isActive()) {
      return; // expected: a stop or a teardown is ending the VM, or it has ended
    }
    state.beginTeardown();
    submit(new VmCommand.EndAfterExit(p, status));
  }
}
