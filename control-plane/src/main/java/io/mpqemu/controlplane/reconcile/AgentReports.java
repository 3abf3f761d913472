package io.mpqemu.controlplane.reconcile;

import io.mpqemu.controlplane.policy.StatusFold;
import io.mpqemu.controlplane.records.VmRecords;
import io.mpqemu.controlplane.store.Change;
import io.mpqemu.controlplane.store.StoredVm;
import io.mpqemu.controlplane.vm.DroppedEvent;
import io.mpqemu.errors.Echo;
import io.mpqemu.v1.AgentVm;
import io.mpqemu.v1.EventType;
import io.mpqemu.v1.VmEvent;
import io.mpqemu.v1.VmStatus;
import io.mpqemu.wire.Phases;
import io.mpqemu.wire.Timestamps;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

/**
 * What agents report, through both channels: the events they publish on the bus, and their answers to
 * the reconciler's commands. Each folds into the VM's status ({@link StatusFold}) when the node speaks for
 * the VM; anything else is dropped, said why.
 */
final class AgentReports {

  private static final int DELETED_KEPT = 1024;
  private static final Duration DELETED_TAIL = Duration.ofMinutes(1);

  private final VmRecords records;
  private final InFlight inFlight;
  /**
   * VMs deleted lately (at most {@value #DELETED_KEPT}, for {@link #DELETED_TAIL}), by id: the node each
   * was on, and when. That node's last events about it (its VM_DELETED, which may arrive after the delete)
   * still go into the log; any other event about a VM id the store does not know does not.
   */
  private final Map<String, Map.Entry<String, Instant>> recentlyDeleted = new LinkedHashMap<>() {
    @Override
    protected boolean removeEldestEntry(Map.Entry<String, Map.Entry<String, Instant>> eldest) {
      return size() > DELETED_KEPT;
    }
  };

  private final ResetLimiter resets;
  /** The last agent event applied per VM: its node, number and time. */
  private final Map<String, Applied> lastApplied = new HashMap<>();

  private record Applied(String node, long vmSeq, Instant time) {}

  AgentReports(VmRecords records, InFlight inFlight, Timers timers) {
    this.records = records;
    this.inFlight = inFlight;
    this.resets = new ResetLimiter(timers);
  }

  /**
   * An event an agent published: recorded in the log, and applied to the VM's status, when the node that
   * sent it speaks for that VM: the VM is placed on that node, or a launch there is in flight. Anything
   * else is dropped (no state change, no row), and so is an event about a VM id the store does not know:
   * a node may not move another node's VM to itself, nor fill the log. Only the node a VM was just deleted
   * from may still report its end (a row, no VM). Answers why the event was dropped, or empty.
   */
  Optional<DroppedEvent> onEvent(VmEvent e) {
    String sender = e.getNode();
    String from = sender.isEmpty() ? "naming no node" : "of node " + Echo.of(sender);
    Optional<StoredVm> known = records.get(e.getVmId());
    if (known.isEmpty()) {
      Map.Entry<String, Instant> deleted = recentlyDeleted.get(e.getVmId());
      if (deleted != null && !sender.isEmpty() && sender.equals(deleted.getKey())
          && Duration.between(deleted.getValue(), records.clock().instant()).compareTo(DELETED_TAIL) < 0) {
        records.commit(Change.builder().event(e.toBuilder().setSeq(0).build()).build());
        return Optional.empty();
      }
      return Optional.of(new DroppedEvent(DroppedEvent.Reason.UNKNOWN_VM, sender, "a " + e.getType() + " event " + from
          + " about VM " + Echo.quote(e.getVmId()) + ", which the control plane does not know (deleted, or"
          + " never created here); should the node run it, reconciliation removes it there"));
    }
    StoredVm vm = known.get();
    String placed = vm.status().getNode();
    String launchNode = inFlight.launchNode(vm.id());
    if (sender.isEmpty() || !sender.equals(placed) && !sender.equals(launchNode)) {
      return Optional.of(new DroppedEvent(DroppedEvent.Reason.OTHER_NODES_VM, sender, "a " + e.getType() + " event " + from
          + " about VM " + vm.id() + " ('" + vm.name() + "'), which is placed on "
          + (placed.isEmpty() ? "no node" : "node " + placed)
          + (launchNode != null ? " and being launched on node " + launchNode : "") + "; a node speaks only for its own VMs"));
    }
    if (deliveredBefore(vm.id(), e)) {
      return Optional.empty(); // recorded once already; the store also refuses it by (node, VM, vm_seq)
    }
    if (resets.admit(e, this::record)) {
      record(e);
    }
    return Optional.empty();
  }

  /**
   * Whether {@code e} was applied before: the bus may deliver twice. The node numbers each VM's events; a
   * number at or below the last applied one from the same node, stamped no later, is a copy. (A node that
   * lost a VM's state numbers from 1 again, at later times: those are applied.)
   */
  private boolean deliveredBefore(String vmId, VmEvent e) {
    if (e.getVmSeq() <= 0) {
      return false;
    }
    Applied last = lastApplied.get(vmId);
    Instant at = Timestamps.instant(e.getTime());
    if (last != null && last.node().equals(e.getNode()) && e.getVmSeq() <= last.vmSeq() && !at.isAfter(last.time())) {
      return true;
    }
    lastApplied.put(vmId, new Applied(e.getNode(), e.getVmSeq(), at));
    return false;
  }

  /** Folds an event of the node that speaks for the VM into its status and records both. */
  private void record(VmEvent e) {
    records.get(e.getVmId()).filter(vm -> e.getNode().equals(vm.status().getNode())
        || e.getNode().equals(inFlight.launchNode(vm.id()))).ifPresent(vm -> { // still its node, for a held-back event
      StoredVm next = vm.withStatus(StatusFold.ofEvent(vm.status(), e), records.clock().instant());
      records.refresh(next);
      records.commit(Change.builder().update(next).event(e.toBuilder().setSeq(0).build()).build());
    });
  }

  /** A node's answer to a command is the truth about the VM there: the status follows it, with an event when the phase moved. */
  void onAnswer(String vmId, String node, AgentVm view) {
    Optional<StoredVm> known = records.get(vmId);
    if (known.isEmpty()) {
      return;
    }
    StoredVm vm = known.get();
    VmStatus folded = StatusFold.ofAgentView(vm.status(), node, view);
    StoredVm next = vm.withStatus(folded, records.clock().instant());
    if (view.getPhase() != vm.status().getPhase()) {
      records.update(next, EventType.RECONCILED, "StatusFromNode", "node " + node + " reports the VM "
          + Phases.name(view.getPhase()) + (view.getMessage().isEmpty() ? "" : ": " + view.getMessage()));
    } else {
      records.write(next);
    }
  }

  /** The VM was deleted from {@code node}: its last words from there are still recorded for a while. */
  void deletedFrom(String vmId, String node) {
    resets.forget(vmId);
    lastApplied.remove(vmId);
    if (!node.isEmpty()) {
      recentlyDeleted.put(vmId, Map.entry(node, records.clock().instant()));
    }
  }
}
