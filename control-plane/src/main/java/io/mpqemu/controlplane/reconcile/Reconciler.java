package io.mpqemu.controlplane.reconcile;

import io.mpqemu.controlplane.intents.Convergence;
import io.mpqemu.controlplane.nodes.NodeRegistry;
import io.mpqemu.controlplane.policy.StatusFold;
import io.mpqemu.controlplane.records.VmRecords;
import io.mpqemu.controlplane.store.Change;
import io.mpqemu.controlplane.store.StoredNode;
import io.mpqemu.controlplane.store.StoredVm;
import io.mpqemu.controlplane.vm.DroppedEvent;
import io.mpqemu.controlplane.vm.VmError;
import io.mpqemu.errors.Failures;
import io.mpqemu.grpc.GrpcCallException;
import io.mpqemu.v1.AgentVm;
import io.mpqemu.v1.DesiredState;
import io.mpqemu.v1.EventType;
import io.mpqemu.v1.NodeState;
import io.mpqemu.v1.Phase;
import io.mpqemu.v1.VmEvent;
import io.mpqemu.v1.VmStatus;
import io.mpqemu.wire.Timestamps;
import io.vertx.core.Future;
import io.vertx.grpc.common.GrpcStatus;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Converges nodes to the stored intents: the only caller of {@link Agents}. Level-triggered: every pass
 * (periodic, and whenever a node becomes READY) lists what each READY node runs and repairs each
 * difference with one idempotent step (launch, stop, restart, remove an orphan, record what the node
 * says); intents and agents' events only make a step happen sooner. Runs on the control plane's event loop.
 */
public final class Reconciler implements Convergence {

  private static final Logger LOG = LoggerFactory.getLogger(Reconciler.class);

  private final VmRecords records;
  private final NodeRegistry nodes;
  private final Agents agents;
  private final InFlight inFlight = new InFlight();
  private final AgentReports reports;
  private final Launches launches;

  public Reconciler(VmRecords records, NodeRegistry nodes, Agents agents, Timers timers, Duration maxBackoff) {
    this.records = records;
    this.nodes = nodes;
    this.agents = agents;
    this.reports = new AgentReports(records, inFlight, timers);
    this.launches = new Launches(records, nodes, agents, reports, inFlight, timers, maxBackoff);
  }

  // ------------------------------------------------------------------ what intents ask

  @Override
  public void converge(String vmId) {
    launches.schedule(vmId);
  }

  @Override
  public void stop(StoredVm vm, int timeoutSeconds, boolean force) {
    StoredNode node = vm.status().getNode().isEmpty() ? null : nodes.get(vm.status().getNode());
    if (node == null || node.state() == NodeState.NODE_STATE_LOST) {
      return; // reconciliation stops it when the node returns
    }
    inFlight.begin(vm.id());
    agents.stop(node, vm.id(), timeoutSeconds, force)
        .onSuccess(view -> reports.onAnswer(vm.id(), node.id(), view))
        .onFailure(e -> {
          if (notFound(e)) {
            markStopped(vm.id(), "the node no longer has it");
          } else {
            launches.dispatchFailed(vm.id(), "stop on node " + node.id() + " failed: " + Failures.describe(e));
          }
        })
        .onComplete(ar -> {
          inFlight.end(vm.id());
          // a start that came once the VM was stopped, while this call's answer was on its way
          records.get(vm.id()).filter(now -> now.desiredState() == DesiredState.RUNNING)
              .ifPresent(now -> launches.schedule(now.id()));
        });
  }

  @Override
  public Future<Void> release(StoredVm vm) {
    String node = vm.status().getNode();
    if (node.isEmpty()) {
      return forgotten(vm, node);
    }
    StoredNode n = nodes.get(node);
    if (n == null || n.state() == NodeState.NODE_STATE_LOST) {
      if (StatusFold.isActive(vm.status().getPhase())) {
        return Future.failedFuture(new VmError(VmError.Kind.UNAVAILABLE, "VM '" + vm.name() + "' runs on node " + node
            + ", which cannot be reached; delete it once the node is back"));
      }
      return forgotten(vm, node);
    }
    inFlight.begin(vm.id());
    return agents.delete(n, vm.id()).recover(Reconciler::notFoundIsFine)
        .eventually(() -> {
          inFlight.end(vm.id());
          return Future.succeededFuture();
        })
        .compose(v -> forgotten(vm, node));
  }

  private Future<Void> forgotten(StoredVm vm, String node) {
    inFlight.forget(vm.id());
    launches.forget(vm.id());
    reports.deletedFrom(vm.id(), node);
    return Future.succeededFuture();
  }

  // ------------------------------------------------------------------ what agents and nodes report

  /** An agent's event: applied when its node speaks for the VM (see {@link AgentReports#onEvent}), else why not. */
  public Optional<DroppedEvent> onAgentEvent(VmEvent e) {
    Optional<DroppedEvent> dropped = reports.onEvent(e);
    if (dropped.isEmpty() && StatusFold.endsARun(e.getType())) {
      launches.maybeRestart(e.getVmId());
    }
    return dropped;
  }

  /** A node changed state: its VMs follow a loss, and a node that is READY again is reconciled at once. */
  public void nodeChanged(NodeRegistry.Transition t) {
    StoredNode n = t.node();
    if (t.to() == NodeState.NODE_STATE_LOST) {
      Change.Builder change = Change.builder();
      boolean any = false;
      for (StoredVm vm : records.onNode(n.id())) {
        Optional<VmStatus> after = StatusFold.afterNodeLost(vm.status(), n.id());
        if (after.isPresent()) {
          StoredVm next = vm.withStatus(after.get(), records.clock().instant());
          records.refresh(next);
          change.update(next);
          any = true;
        }
      }
      if (any) {
        records.commit(change.build());
      }
    }
    if (t.to() == NodeState.NODE_STATE_READY) {
      reconcileNode(n);
    }
    if (t.to() == NodeState.NODE_STATE_READY || t.to() == NodeState.NODE_STATE_LOST) {
      launches.schedulePending();
    }
  }

  // ------------------------------------------------------------------ the pass

  /** Compares every READY node's actual VMs with the intents, repairs the difference, and places what waits. */
  public void reconcile() {
    records.flushUnsaved();
    for (StoredNode n : nodes.all()) {
      if (n.state() == NodeState.NODE_STATE_READY) {
        reconcileNode(n);
      }
    }
    launches.schedulePending();
  }

  private void reconcileNode(StoredNode node) {
    agents.list(node).onSuccess(actual -> {
      Map<String, AgentVm> byId = new HashMap<>();
      for (AgentVm a : actual) {
        byId.put(a.getVmId(), a);
      }
      Change.Builder figures = Change.builder();
      for (StoredVm vm : records.onNode(node.id())) {
        if (inFlight.busy(vm.id()) || inFlight.restartPending(vm.id())) {
          byId.remove(vm.id());
          continue;
        }
        reconcileVm(vm, node, byId.remove(vm.id()), figures);
      }
      Change refreshed = figures.build();
      if (!refreshed.updates().isEmpty()) {
        records.commit(refreshed);
      }
      for (AgentVm orphan : byId.values()) {
        if (records.get(orphan.getVmId()).isEmpty() && !inFlight.busy(orphan.getVmId())) {
          removeOrphan(node, orphan); // a VM placed elsewhere since, or being handled, is not an orphan
        }
      }
    }).onFailure(e -> LOG.warn("node={} reconciliation could not list VMs: {}", node.id(), Failures.describe(e)));
  }

  /** One VM against what its node runs ({@code actual}, null when the node does not have it). */
  private void reconcileVm(StoredVm vm, StoredNode node, AgentVm actual, Change.Builder figures) {
    boolean wantRunning = vm.desiredState() == DesiredState.RUNNING;
    Phase phase = vm.status().getPhase();
    if (actual == null) {
      if (wantRunning && phase != Phase.PHASE_FAILED && phase != Phase.PHASE_STOPPED) {
        LOG.info("vm={} node={} should run but the node does not have it; launching it", vm.id(), node.id());
        StoredVm relaunch = vm.withStatus(vm.status().toBuilder().setPhase(Phase.PHASE_SCHEDULED).setReason("Reconciled")
            .setMessage("node " + node.id() + " did not have it; launching it again").clearProcesses().build(),
            records.clock().instant());
        records.update(relaunch, EventType.RECONCILED, "Relaunched", relaunch.status().getMessage());
        launches.launch(relaunch, node);
      } else if (!wantRunning && phase != Phase.PHASE_STOPPED) {
        markStopped(vm.id(), "node " + node.id() + " does not run it");
      } else if (wantRunning) {
        // FAILED or STOPPED, and the node forgot it (a failed launch): only the restart policy brings it
        // back, and its timer lives in memory; asking again here survives a lost timer or a restart
        launches.maybeRestart(vm.id());
      }
      return;
    }
    boolean active = StatusFold.isActive(actual.getPhase());
    if (!wantRunning && active) {
      LOG.info("vm={} node={} runs but should not; stopping it", vm.id(), node.id());
      stop(vm, 0, false);
      return;
    }
    if (StatusFold.viewChangesPhase(vm.status(), actual)) {
      reports.onAnswer(vm.id(), node.id(), actual);
    } else {
      refreshFigures(vm, actual, figures);
    }
    if (wantRunning && !active) {
      launches.maybeRestart(vm.id());
    }
  }

  /**
   * Same phase, same number of processes: the agent's processes (their CPU seconds and memory move all
   * the time) and confinement, without an event; the node's pass writes every VM whose figures moved in
   * one transaction, so readers of the store see them.
   */
  private void refreshFigures(StoredVm vm, AgentVm actual, Change.Builder figures) {
    VmStatus fresh = vm.status().toBuilder().clearProcesses().addAllProcesses(actual.getProcessesList())
        .setConfinement(actual.getConfinement()).clearConditions().addAllConditions(actual.getConditionsList())
        .clearNics().addAllNics(actual.getNicsList()).build();
    if (!fresh.equals(vm.status())) {
      StoredVm next = new StoredVm(vm.id(), vm.spec(), vm.desiredState(), vm.revision(), fresh, vm.createdAt(),
          vm.updatedAt(), vm.owner());
      records.refresh(next);
      figures.update(next);
    }
  }

  private void markStopped(String vmId, String why) {
    records.get(vmId).filter(vm -> vm.status().getPhase() != Phase.PHASE_STOPPED).ifPresent(vm -> records.update(
        vm.withStatus(vm.status().toBuilder().setPhase(Phase.PHASE_STOPPED).setReason("Stopped").setMessage(why)
            .clearProcesses().build(), records.clock().instant()), EventType.RECONCILED, "Stopped", why));
  }

  private void removeOrphan(StoredNode node, AgentVm orphan) {
    LOG.info("vm={} node={} is not in the store; stopping and removing it from the node", orphan.getVmId(), node.id());
    inFlight.begin(orphan.getVmId());
    agents.delete(node, orphan.getVmId()).recover(Reconciler::notFoundIsFine)
        .onSuccess(v -> records.commit(Change.builder().event(VmEvent.newBuilder().setVmId(orphan.getVmId())
            .setVmName(orphan.getSpec().getName()).setNode(node.id()).setType(EventType.RECONCILED)
            .setPhase(Phase.PHASE_DELETED).setReason("OrphanRemoved")
            .setMessage("node " + node.id() + " ran a VM the store does not know; it was stopped and removed")
            .setTime(Timestamps.of(records.clock().instant())).build()).build()))
        .onFailure(e -> LOG.warn("vm={} node={} could not remove an orphan: {}", orphan.getVmId(), node.id(),
            Failures.describe(e)))
        .onComplete(ar -> inFlight.end(orphan.getVmId()));
  }

  private static boolean notFound(Throwable e) {
    return e instanceof GrpcCallException gce && gce.status() == GrpcStatus.NOT_FOUND;
  }

  private static Future<Void> notFoundIsFine(Throwable e) {
    return notFound(e) ? Future.succeededFuture() : Future.failedFuture(e);
  }
}
