package io.mpqemu.controlplane.records;

import io.mpqemu.controlplane.policy.StatusFold;
import io.mpqemu.controlplane.store.StoredVm;
import io.mpqemu.v1.DesiredState;
import io.mpqemu.v1.Phase;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

/**
 * The write model's indexes, each kept in step with every VM added or removed: ids by name, VMs waiting to
 * be placed, VMs by the node their status names, and what each node and each owner holds. They keep a
 * scheduling pass linear in the VMs that wait, a node's pass in that node's VMs, and quotas a lookup.
 */
final class VmIndexes {

  private final Map<String, String> idsByName = new HashMap<>();
  private final Map<String, Usage> byNode = new HashMap<>();
  private final Map<String, Usage> byOwner = new HashMap<>();
  /** VM ids by the node their status names (in any phase). */
  private final Map<String, TreeSet<String>> idsByNode = new HashMap<>();
  /** VMs that should run and wait to be placed (desired RUNNING, phase PENDING), in id order. */
  private final TreeSet<String> pending = new TreeSet<>();

  void add(StoredVm vm) {
    idsByName.put(vm.name(), vm.id());
    if (StatusFold.occupiesNode(vm.status())) {
      byNode.merge(vm.status().getNode(), Usage.NONE.plus(vm, 1), Usage::plus);
    }
    if (!vm.owner().isEmpty()) {
      byOwner.merge(vm.owner(), Usage.NONE.plus(vm, 1), Usage::plus);
    }
    if (vm.desiredState() == DesiredState.RUNNING && vm.status().getPhase() == Phase.PHASE_PENDING) {
      pending.add(vm.id());
    }
    if (!vm.status().getNode().isEmpty()) {
      idsByNode.computeIfAbsent(vm.status().getNode(), n -> new TreeSet<>()).add(vm.id());
    }
  }

  void remove(StoredVm vm) {
    idsByName.remove(vm.name(), vm.id());
    pending.remove(vm.id());
    if (!vm.status().getNode().isEmpty()) {
      idsByNode.computeIfPresent(vm.status().getNode(), (n, ids) -> ids.remove(vm.id()) && ids.isEmpty() ? null : ids);
    }
    if (StatusFold.occupiesNode(vm.status())) {
      byNode.computeIfPresent(vm.status().getNode(), (n, u) -> nonEmpty(u.plus(vm, -1)));
    }
    if (!vm.owner().isEmpty()) {
      byOwner.computeIfPresent(vm.owner(), (o, u) -> nonEmpty(u.plus(vm, -1)));
    }
  }

  String idOf(String name) {
    return idsByName.get(name);
  }

  List<String> onNode(String node) {
    TreeSet<String> ids = idsByNode.get(node);
    return ids == null ? List.of() : List.copyOf(ids);
  }

  List<String> pending() {
    return List.copyOf(pending);
  }

  Map<String, Usage> usageByNode() {
    return Map.copyOf(byNode);
  }

  Usage usageOf(String owner) {
    return owner.isEmpty() ? Usage.NONE : byOwner.getOrDefault(owner, Usage.NONE);
  }

  private static Usage nonEmpty(Usage u) {
    return u.vms() == 0 ? null : u;
  }
}
