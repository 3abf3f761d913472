package io.mpqemu.controlplane.scheduling;

import io.mpqemu.v1.Capacity;
import io.mpqemu.v1.NodeInfo;
import io.mpqemu.v1.NodeState;
import io.mpqemu.v1.ProxiedDevice;
import io.mpqemu.v1.VmSpec;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * Chooses a node for a VM. A node fits when it is ready, carries every label of the node selector,
 * runs multi-process QEMU, allows every device driver, holds every catalog image the disks name as their
 * base, has the memory free and a VM slot left, and its per-VM limits admit the spec. Among fitting nodes the preferred one wins (where the VM ran
 * before); otherwise the VMs are spread: fewest VMs, then most free memory, then smallest id.
 */
public final class Placement {

  static final String UNSCHEDULABLE = "Unschedulable";

  private Placement() {}

  /**
   * @param memoryAllocatedByNode MiB already given to VMs placed on each node (absent: 0)
   * @param vmsByNode VMs already placed on each node (absent: 0)
   * @param preferredNode the node the VM ran on before, or null
   */
  public static Decision place(VmSpec spec, List<NodeView> nodes, Map<String, Long> memoryAllocatedByNode,
      Map<String, Integer> vmsByNode, String preferredNode) {
    return place(spec, Set.of(), nodes, memoryAllocatedByNode, vmsByNode, preferredNode);
  }

  /**
   * As above, for a VM whose disks name {@code baseImages} (catalog images) as their bases: only a node
   * holding all of them fits.
   */
  public static Decision place(VmSpec spec, Set<String> baseImages, List<NodeView> nodes,
      Map<String, Long> memoryAllocatedByNode, Map<String, Integer> vmsByNode, String preferredNode) {
    return place(spec, baseImages, Set.of(), nodes, memoryAllocatedByNode, vmsByNode, preferredNode);
  }

  /** As above, for a VM whose NICs are on {@code networks}: only a node defining all of them fits. */
  public static Decision place(VmSpec spec, Set<String> baseImages, Set<String> networks, List<NodeView> nodes,
      Map<String, Long> memoryAllocatedByNode, Map<String, Integer> vmsByNode, String preferredNode) {
    List<Candidate> fitting = new ArrayList<>();
    List<Misfit> misfits = new ArrayList<>();
    for (NodeView node : nodes.stream().sorted(Comparator.comparing(NodeView::id)).toList()) {
      long allocated = memoryAllocatedByNode.getOrDefault(node.id(), 0L);
      int vms = vmsByNode.getOrDefault(node.id(), 0);
      Optional<Misfit> misfit = misfit(spec, baseImages, networks, node, allocated, vms);
      if (misfit.isPresent()) {
        misfits.add(misfit.get());
      } else {
        fitting.add(new Candidate(node.id(), vms, node.info().getCapacity().getMemoryMib() - allocated));
      }
    }
    if (fitting.isEmpty()) {
      return new Decision.Unschedulable(UNSCHEDULABLE, explain(misfits));
    }
    if (preferredNode != null && fitting.stream().anyMatch(c -> c.id().equals(preferredNode))) {
      return new Decision.Placed(preferredNode);
    }
    Candidate best = fitting.stream()
        .min(Comparator.comparingInt(Candidate::vms)
            .thenComparing(Comparator.comparingLong(Candidate::freeMemoryMib).reversed())
            .thenComparing(Candidate::id))
        .orElseThrow();
    return new Decision.Placed(best.id());
  }

  private record Candidate(String id, int vms, long freeMemoryMib) {}

  /** Why one node does not fit, as the rest of a sentence after "1 node" or "2 nodes". */
  private record Misfit(String one, String many) {}

  private static Optional<Misfit> misfit(VmSpec spec, Set<String> baseImages, Set<String> networks, NodeView node,
      long allocated, int vms) {
    if (node.state() != NodeState.NODE_STATE_READY) {
      String state = node.state().name().replaceFirst("^NODE_STATE_", "");
      return Optional.of(new Misfit("is " + state, "are " + state));
    }
    NodeInfo info = node.info();
    for (Map.Entry<String, String> wanted : new TreeMap<>(spec.getNodeSelectorMap()).entrySet()) {
      if (!wanted.getValue().equals(info.getLabelsMap().get(wanted.getKey()))) {
        String label = wanted.getKey() + "=" + wanted.getValue();
        return Optional.of(new Misfit("lacks label " + label, "lack label " + label));
      }
    }
    if (!info.getMultiprocessSupported()) {
      return Optional.of(new Misfit("does not support multi-process QEMU", "do not support multi-process QEMU"));
    }
    for (ProxiedDevice device : spec.getDevicesList()) {
      if (!info.getAllowedDriversList().contains(device.getDriver())) {
        return Optional.of(new Misfit("does not allow driver " + device.getDriver(),
            "do not allow driver " + device.getDriver()));
      }
    }
    for (String base : new TreeSet<>(baseImages)) {
      if (!info.getCatalogImagesList().contains(base)) {
        return Optional.of(new Misfit("lacks image " + base + " in its catalog", "lack image " + base + " in their catalog"));
      }
    }
    for (String network : new TreeSet<>(networks)) {
      if (!info.getNetworksList().contains(network)) {
        return Optional.of(new Misfit("lacks network " + network, "lack network " + network));
      }
    }
    Optional<Misfit> limit = perVmLimit(spec, info.getCapacity());
    if (limit.isPresent()) {
      return limit;
    }
    Capacity capacity = info.getCapacity();
    long maxVms = Integer.toUnsignedLong(capacity.getMaxVms());
    if (vms >= maxVms) {
      return Optional.of(new Misfit("runs its maximum of " + maxVms + " VMs", "run their maximum of " + maxVms + " VMs"));
    }
    long asked = Integer.toUnsignedLong(spec.getMemoryMib());
    long free = Math.max(0, capacity.getMemoryMib() - allocated);
    if (asked > free) {
      String rest = free + " MiB free of the " + asked + " MiB asked";
      return Optional.of(new Misfit("has " + rest, "have " + rest));
    }
    return Optional.empty();
  }

  private static Optional<Misfit> perVmLimit(VmSpec spec, Capacity capacity) {
    long memory = Integer.toUnsignedLong(spec.getMemoryMib());
    long maxMemory = Integer.toUnsignedLong(capacity.getMaxMemoryMibPerVm());
    if (memory > maxMemory) {
      return Optional.of(allowsAtMost(maxMemory + " MiB per VM"));
    }
    long vcpus = spec.getVcpus() == 0 ? 1 : Integer.toUnsignedLong(spec.getVcpus());
    long maxVcpus = Integer.toUnsignedLong(capacity.getMaxVcpusPerVm());
    if (vcpus > maxVcpus) {
      return Optional.of(allowsAtMost(maxVcpus + " vCPUs per VM"));
    }
    long maxDevices = Integer.toUnsignedLong(capacity.getMaxDevicesPerVm());
    if (spec.getDevicesCount() > maxDevices) {
      return Optional.of(allowsAtMost(maxDevices + " devices per VM"));
    }
    long maxNics = Integer.toUnsignedLong(capacity.getMaxNicsPerVm());
    if (spec.getNicsCount() > maxNics) {
      return Optional.of(allowsAtMost(maxNics + " NICs per VM"));
    }
    long maxDisks = Integer.toUnsignedLong(capacity.getMaxDisksPerDevice());
    if (spec.getDevicesList().stream().anyMatch(d -> d.getDisksCount() > maxDisks)) {
      return Optional.of(allowsAtMost(maxDisks + " disks per device"));
    }
    return Optional.empty();
  }

  private static Misfit allowsAtMost(String what) {
    return new Misfit("allows at most " + what, "allow at most " + what);
  }

  /** "no node fits: 2 nodes lack label zone=b, 1 node is NOT_READY": most common cause first. */
  private static String explain(List<Misfit> misfits) {
    if (misfits.isEmpty()) {
      return "no node fits: no node has registered";
    }
    Map<Misfit, Integer> counts = new LinkedHashMap<>();
    misfits.forEach(m -> counts.merge(m, 1, Integer::sum));
    List<String> parts = counts.entrySet().stream()
        .sorted(Map.Entry.<Misfit, Integer>comparingByValue().reversed())
        .map(e -> e.getValue() == 1 ? "1 node " + e.getKey().one() : e.getValue() + " nodes " + e.getKey().many())
        .toList();
    return "no node fits: " + String.join(", ", parts);
  }
}
