package io.mpqemu.agent.vm;

import io.mpqemu.agent.process.ProcessTable;
import io.mpqemu.agent.state.ProcessRecord;
import io.mpqemu.agent.state.VmRecord;
import io.mpqemu.errors.Failures;
import io.mpqemu.v1.EventType;
import io.mpqemu.v1.Phase;
import io.mpqemu.v1.ProcessRole;
import io.vertx.core.Future;
import io.vertx.core.json.JsonObject;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.function.Consumer;
import java.util.function.LongPredicate;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Takes over a VM that a previous agent recorded: checks each recorded process is still the same
 * one, reconnects QMP and supervises it again (ADOPTED); reports a VM whose processes died meanwhile
 * (LOST_WHILE_DETACHED) and kills what is left; undoes a launch that was not finished
 * (LAUNCH_ABANDONED); kills processes naming the VM's directory that no record knows.
 */
final class Adoption {

  /** Logged under the supervisor's name, as before the supervisor was split. */
  private static final Logger LOG = LoggerFactory.getLogger(VmSupervisor.class);

  private final Vm vm;
  private final VmRuntime rt;
  private final VmEvents events;
  private final VmRecordWriter writer;
  private final Teardown teardown;
  private final ProcessWatcher watcher;
  private final QmpEvents qmpEvents;
  private final Consumer<VmCommand<?>> commands;

  Adoption(Vm vm, VmRuntime rt, VmEvents events, VmRecordWriter writer, Teardown teardown, ProcessWatcher watcher,
      QmpEvents qmpEvents, Consumer<VmCommand<?>> commands) {
    this.vm = vm;
    this.rt = rt;
    this.events = events;
    this.writer = writer;
    this.teardown = teardown;
    this.watcher = watcher;
    this.qmpEvents = qmpEvents;
    this.commands = commands;
  }

  /** Runs as a command, once {@link Vm#restore} took the record. */
  Future<Void> adopt(VmCommand.Adopt command) {
    VmRecord rec = command.record();
    LongPredicate ours = uidsOf(rec);
    if (ours == null) {
      return rec.launchComplete() ? untrusted(rec) : abandonLaunch(List.of());
    }
    // /proc for each pid blocks: off the loop, then back on it with what was found
    return rt.blocking(() -> {
      List<Long> strays = command.pidsFound().stream()
          .filter(pid -> ProcessTable.uid(pid).stream().anyMatch(ours)).toList();
      List<Optional<VmProcess>> found = new ArrayList<>();
      if (rec.launchComplete()) {
        for (ProcessRecord pr : rec.processes()) {
          ProcessRole role = pr.isMain() ? ProcessRole.PROCESS_ROLE_MAIN
              : rec.nicProcess(pr.name()) ? ProcessRole.PROCESS_ROLE_NIC : ProcessRole.PROCESS_ROLE_DEVICE;
          found.add(ours.test(pr.uid())
              ? rt.launcher().adopt(pr.pid(), pr.startedAt(), pr.uid()).map(rp -> new VmProcess(pr.name(), role, rp, pr.uid()))
              : Optional.empty());
        }
      }
      return new Scan(strays, found);
    }).compose(scan -> rec.launchComplete() ? supervise(rec, scan.strays(), scan.found()) : abandonLaunch(scan.strays()));
  }

  private record Scan(List<Long> strays, List<Optional<VmProcess>> found) {}

  /**
   * The uids the VM's processes may run as: its recorded block, once the confinement took it over
   * (it must lie in the agent's range and belong to no other VM), or the agent's own uid for a VM
   * that ran unconfined. A process that runs as another uid is neither adopted nor killed. Null
   * when the recorded uids cannot be trusted.
   */
  private LongPredicate uidsOf(VmRecord rec) {
    if (rec.uidCount() == 0) {
      long agent = rt.confinement().agentUid();
      return uid -> uid == agent;
    }
    long first = rec.uidFirst();
    long last = first + rec.uidCount() - 1;
    ProcessConfinement.AdoptedUids adopted = rt.confinement().adopt(vm.id(), first, rec.uidCount());
    if (!adopted.trusted()) {
      return null;
    }
    if (adopted.jail() != null) {
      vm.confine(adopted.jail());
    }
    return uid -> uid >= first && uid <= last;
  }

  /** Takes over the processes found alive ({@code found}, in the record's order), and kills strays. */
  private Future<Void> supervise(VmRecord rec, List<Long> pidsFound, List<Optional<VmProcess>> found) {
    List<Long> known = new ArrayList<>();
    List<String> dead = new ArrayList<>();
    for (int i = 0; i < rec.processes().size(); i++) {
      ProcessRecord pr = rec.processes().get(i);
      known.add(pr.pid());
      Optional<VmProcess> adopted = found.get(i);
      if (adopted.isPresent()) {
        vm.processes().add(adopted.get());
      } else if (rec.phase() != Phase.PHASE_STOPPED && rec.phase() != Phase.PHASE_FAILED) {
        dead.add(pr.name() + " (pid " + pr.pid() + ")");
      }
    }
    List<Long> strays = pidsFound.stream().filter(pid -> !known.contains(pid)).toList();
    Future<Void> strayKill = strays.isEmpty() ? Future.succeededFuture() : killStrays(strays);
    Lifecycle state = vm.state();
    if (!state.isActive() || vm.processes().isEmpty() && dead.isEmpty()) {
      vm.processes().killAndDrop();
      if (state.isActive()) {
        state.foundNothingRunning();
      }
      return strayKill.compose(v -> writer.persist());
    }
    vm.processes().all().forEach(watcher::watch);
    if (!dead.isEmpty()) {
      return lostWhileDetached(dead, strayKill);
    }
    return strayKill.compose(v -> reconnectQmp());
  }

  /**
   * The record names uids outside this agent's range or another VM's (a changed --uid-range, or a
   * forged file): none of its processes is adopted or killed, and the VM is FAILED saying so.
   */
  private Future<Void> untrusted(VmRecord rec) {
    long last = rec.uidFirst() + rec.uidCount() - 1;
    String msg = "its vm.json names uids " + rec.uidFirst() + "-" + last + ", outside this agent's --uid-range or"
        + " another VM's: no process of it was adopted or killed (pids " + rec.processes().stream()
        .map(ProcessRecord::pid).toList() + " were left as they are)";
    LOG.warn("vm={} node={} {}", vm.id(), rt.nodeId(), msg);
    if (!vm.state().isActive()) {
      return writer.persist();
    }
    vm.state().beginTeardown();
    return teardown.finish(Phase.PHASE_FAILED, "UidsNotTrusted", msg);
  }

  private Future<Void> lostWhileDetached(List<String> dead, Future<Void> strayKill) {
    vm.state().beginTeardown();
    String msg = "process(es) " + dead + " exited while no agent was watching";
    events.emit(EventType.LOST_WHILE_DETACHED, "ExitedWhileDetached", msg, null);
    return strayKill.compose(v -> teardown.killAll()).compose(v -> teardown.finish(Phase.PHASE_FAILED, "ExitedWhileDetached", msg));
  }

  private Future<Void> reconnectQmp() {
    return rt.qmp().connect(vm.id(), vm.paths().qmpSocket())
        .compose(client -> {
          qmpEvents.attach(client);
          return client.execute("query-status", new JsonObject(), Vm.QMP_TIMEOUT);
        })
        .transform(ar -> {
          String pids = vm.processes().all().stream().map(p -> p.name() + "=" + p.pid()).toList().toString();
          if (ar.succeeded()) {
            boolean wasStopping = vm.state().phase() == Phase.PHASE_STOPPING;
            vm.state().adopted(ar.result().getBoolean("running", false));
            events.emit(EventType.ADOPTED, "Adopted", "found running after an agent restart and supervised again: " + pids, null);
            if (wasStopping) {
              LOG.info("vm={} was being stopped when the agent went away; finishing the stop", vm.id());
              commands.accept(new VmCommand.FinishStop());
            }
          } else {
            LOG.warn("vm={} QMP reconnect failed: {}; supervising its processes without QMP", vm.id(), Failures.describe(ar.cause()));
            vm.state().adoptedWithoutQmp(vm.processes().main() != null);
            events.emit(EventType.ADOPTED, "AdoptedWithoutQmp", "processes adopted but QMP is unreachable ("
                + Failures.describe(ar.cause()) + "); a stop will kill them: " + pids, null);
          }
          return writer.persist();
        });
  }

  private Future<Void> abandonLaunch(List<Long> pidsFound) {
    return killStrays(pidsFound).compose(v -> writer.forget()).map(v -> {
      String msg = "a launch interrupted by an agent restart was cleaned up: killed " + pidsFound.size()
          + " process(es) " + pidsFound + " and removed its state directory";
      vm.state().abandoned(msg);
      events.emit(EventType.LAUNCH_ABANDONED, "LaunchAbandoned", msg, null);
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
}
