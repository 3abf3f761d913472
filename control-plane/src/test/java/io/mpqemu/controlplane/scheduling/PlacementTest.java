package io.mpqemu.controlplane.scheduling;

import static org.assertj.core.api.Assertions.assertThat;

import io.mpqemu.v1.Capacity;
import io.mpqemu.v1.Disk;
import io.mpqemu.v1.NodeInfo;
import io.mpqemu.v1.NodeState;
import io.mpqemu.v1.ProxiedDevice;
import io.mpqemu.v1.VmSpec;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

class PlacementTest {

  private static final VmSpec SPEC = VmSpec.newBuilder().setName("web").setMemoryMib(1024).setVcpus(2)
      .addDevices(ProxiedDevice.newBuilder().setId("disk0").setDriver("virtio-blk-pci")
          .addDisks(Disk.newBuilder().setId("root").setImage("root.raw")))
      .build();

  private static NodeInfo.Builder info(String id) {
    return NodeInfo.newBuilder().setNodeId(id).setMultiprocessSupported(true)
        .addAllAllowedDrivers(List.of("lsi53c895a", "megasas", "nvme", "virtio-blk-pci"))
        .setCapacity(Capacity.newBuilder().setMemoryMib(8192).setMaxVms(10).setMaxMemoryMibPerVm(4096)
            .setMaxDevicesPerVm(4).setMaxDisksPerDevice(4).setMaxVcpusPerVm(8).setMaxNicsPerVm(4));
  }

  private static NodeView ready(String id) {
    return new NodeView(id, NodeState.NODE_STATE_READY, info(id).build());
  }

  private static NodeView ready(NodeInfo.Builder info) {
    return new NodeView(info.getNodeId(), NodeState.NODE_STATE_READY, info.build());
  }

  private static Decision place(VmSpec spec, List<NodeView> nodes) {
    return Placement.place(spec, nodes, Map.of(), Map.of(), null);
  }

  private static String unschedulable(Decision d) {
    assertThat(d).isInstanceOf(Decision.Unschedulable.class);
    Decision.Unschedulable u = (Decision.Unschedulable) d;
    assertThat(u.reason()).isEqualTo("Unschedulable");
    return u.message();
  }

  @Test
  @DisplayName("a ready node that offers everything takes the VM")
  void placesOnAFittingNode() {
    assertThat(place(SPEC, List.of(ready("n1")))).isEqualTo(new Decision.Placed("n1"));
  }

  @Test
  @DisplayName("only READY nodes take VMs")
  void skipsNodesNotReady() {
    List<NodeView> nodes = List.of(
        new NodeView("n1", NodeState.NODE_STATE_NOT_READY, info("n1").build()),
        new NodeView("n2", NodeState.NODE_STATE_LOST, info("n2").build()));
    assertThat(unschedulable(place(SPEC, nodes))).isEqualTo("no node fits: 1 node is NOT_READY, 1 node is LOST");
    assertThat(place(SPEC, List.of(nodes.get(0), ready("n3")))).isEqualTo(new Decision.Placed("n3"));
  }

  @Test
  @DisplayName("a disk over a catalog base goes only to a node whose catalog holds it; the refusal counts the others")
  void needsTheBase() {
    VmSpec spec = SPEC.toBuilder().setDevices(0, SPEC.getDevices(0).toBuilder()
        .setDisks(0, Disk.newBuilder().setId("root").setBase("debian-12"))).build();
    List<NodeView> nodes = List.of(ready(info("a")), ready(info("b").addCatalogImages("debian-12")),
        ready(info("c").addCatalogImages("other")));
    java.util.Set<String> bases = io.mpqemu.spec.DiskSources.basesOf(spec);
    assertThat(bases).containsExactly("debian-12");
    assertThat(Placement.place(spec, bases, nodes, Map.of(), Map.of(), null)).isEqualTo(new Decision.Placed("b"));
    assertThat(unschedulable(Placement.place(spec, bases, List.of(nodes.get(0), nodes.get(2)), Map.of(), Map.of(), null)))
        .isEqualTo("no node fits: 2 nodes lack image debian-12 in their catalog");
  }

  @Test
  @DisplayName("a VM with NICs goes only to a node that defines their networks and allows that many NICs")
  void needsTheNetworks() {
    VmSpec spec = SPEC.toBuilder().addNics(io.mpqemu.v1.Nic.newBuilder().setId("net0"))
        .addNics(io.mpqemu.v1.Nic.newBuilder().setId("net1").setNetwork("lan")).build();
    java.util.Set<String> networks = io.mpqemu.spec.NicRules.networksOf(spec);
    assertThat(networks).containsExactly("default", "lan");
    List<NodeView> nodes = List.of(ready(info("a").addNetworks("default")),
        ready(info("b").addNetworks("default").addNetworks("lan")), ready(info("c").addNetworks("lan")));
    assertThat(Placement.place(spec, java.util.Set.of(), networks, nodes, Map.of(), Map.of(), null))
        .isEqualTo(new Decision.Placed("b"));
    assertThat(unschedulable(Placement.place(spec, java.util.Set.of(), networks, List.of(nodes.get(0), nodes.get(2)),
        Map.of(), Map.of(), null))).isEqualTo("no node fits: 1 node lacks network lan, 1 node lacks network default");
    NodeInfo.Builder oneNic = info("d").addNetworks("default").addNetworks("lan");
    oneNic.setCapacity(oneNic.getCapacity().toBuilder().setMaxNicsPerVm(1));
    assertThat(unschedulable(Placement.place(spec, java.util.Set.of(), networks, List.of(ready(oneNic)), Map.of(),
        Map.of(), null))).isEqualTo("no node fits: 1 node allows at most 1 NICs per VM");
  }

  @Test
  @DisplayName("every node_selector entry must equal a label of the node")
  void honoursNodeSelector() {
    VmSpec spec = SPEC.toBuilder().putNodeSelector("zone", "b").putNodeSelector("disk", "ssd").build();
    List<NodeView> nodes = List.of(
        ready(info("a").putLabels("zone", "a").putLabels("disk", "ssd")),
        ready(info("b").putLabels("zone", "b")),
        ready(info("c").putLabels("zone", "b").putLabels("disk", "ssd").putLabels("extra", "x")));
    assertThat(place(spec, nodes)).isEqualTo(new Decision.Placed("c"));
    assertThat(unschedulable(place(spec, nodes.subList(0, 2))))
        .isEqualTo("no node fits: 1 node lacks label zone=b, 1 node lacks label disk=ssd");
  }

  @Test
  @DisplayName("a node without multi-process QEMU takes no VM")
  void requiresMultiprocess() {
    NodeView old = ready(info("old").setMultiprocessSupported(false));
    assertThat(unschedulable(place(SPEC, List.of(old))))
        .isEqualTo("no node fits: 1 node does not support multi-process QEMU");
  }

  @Test
  @DisplayName("every device driver must be in the node's allow-list")
  void requiresAllowedDrivers() {
    NodeView scsiOnly = ready(info("scsi").clearAllowedDrivers().addAllowedDrivers("megasas"));
    assertThat(unschedulable(place(SPEC, List.of(scsiOnly))))
        .isEqualTo("no node fits: 1 node does not allow driver virtio-blk-pci");
  }

  @Test
  @DisplayName("the VM's memory must fit in what the node has left")
  void requiresFreeMemory() {
    List<NodeView> nodes = List.of(ready("n1"), ready("n2"));
    Decision d = Placement.place(SPEC, nodes, Map.of("n1", 7680L, "n2", 8192L), Map.of(), null);
    assertThat(unschedulable(d))
        .isEqualTo("no node fits: 1 node has 512 MiB free of the 1024 MiB asked, 1 node has 0 MiB free of the 1024 MiB asked");
    assertThat(Placement.place(SPEC, nodes, Map.of("n1", 7168L, "n2", 7500L), Map.of(), null)).isEqualTo(new Decision.Placed("n1"));
  }

  @Test
  @DisplayName("a node running its maximum of VMs takes no more")
  void respectsMaxVms() {
    Decision d = Placement.place(SPEC, List.of(ready("n1")), Map.of(), Map.of("n1", 10), null);
    assertThat(unschedulable(d)).isEqualTo("no node fits: 1 node runs its maximum of 10 VMs");
    assertThat(Placement.place(SPEC, List.of(ready("n1")), Map.of(), Map.of("n1", 9), null))
        .isEqualTo(new Decision.Placed("n1"));
  }

  @Test
  @DisplayName("a VM larger than the node's per-VM memory limit does not go there")
  void respectsMemoryPerVm() {
    VmSpec big = SPEC.toBuilder().setMemoryMib(6144).build();
    assertThat(unschedulable(place(big, List.of(ready("n1"))))).isEqualTo("no node fits: 1 node allows at most 4096 MiB per VM");
  }

  @Test
  @DisplayName("a VM with more vCPUs than the node allows per VM does not go there")
  void respectsVcpusPerVm() {
    VmSpec wide = SPEC.toBuilder().setVcpus(16).build();
    assertThat(unschedulable(place(wide, List.of(ready("n1"))))).isEqualTo("no node fits: 1 node allows at most 8 vCPUs per VM");
  }

  @Test
  @DisplayName("a VM with more devices than the node allows per VM does not go there")
  void respectsDevicesPerVm() {
    VmSpec.Builder many = SPEC.toBuilder();
    for (int i = 1; i <= 4; i++) {
      many.addDevices(SPEC.getDevices(0).toBuilder().setId("disk" + i));
    }
    assertThat(unschedulable(place(many.build(), List.of(ready("n1")))))
        .isEqualTo("no node fits: 1 node allows at most 4 devices per VM");
  }

  @Test
  @DisplayName("a device with more disks than the node allows per device does not go there")
  void respectsDisksPerDevice() {
    ProxiedDevice.Builder scsi = ProxiedDevice.newBuilder().setId("scsi0").setDriver("megasas");
    for (int i = 0; i < 5; i++) {
      scsi.addDisks(Disk.newBuilder().setId("d" + i).setImage("d" + i + ".raw"));
    }
    VmSpec spec = SPEC.toBuilder().clearDevices().addDevices(scsi).build();
    assertThat(unschedulable(place(spec, List.of(ready("n1"))))).isEqualTo("no node fits: 1 node allows at most 4 disks per device");
  }

  @Test
  @DisplayName("VMs spread over three nodes: fewest VMs first, then most free memory")
  void spreads() {
    List<NodeView> nodes = List.of(ready("n1"), ready("n2"), ready("n3"));
    List<String> placed = new ArrayList<>();
    Map<String, Integer> vms = new java.util.HashMap<>();
    Map<String, Long> memory = new java.util.HashMap<>();
    for (int i = 0; i < 6; i++) {
      Decision.Placed p = (Decision.Placed) Placement.place(SPEC, nodes, memory, vms, null);
      placed.add(p.nodeId());
      vms.merge(p.nodeId(), 1, Integer::sum);
      memory.merge(p.nodeId(), 1024L, Long::sum);
    }
    assertThat(placed).containsExactly("n1", "n2", "n3", "n1", "n2", "n3");

    Decision d = Placement.place(SPEC, nodes, Map.of("n1", 1024L, "n2", 0L, "n3", 2048L), Map.of("n1", 1, "n2", 1, "n3", 1), null);
    assertThat(d).isEqualTo(new Decision.Placed("n2"));
  }

  @Test
  @DisplayName("the node a VM ran on before is preferred when it fits, and ignored when it does not")
  void prefersPreviousNode() {
    List<NodeView> nodes = List.of(ready("n1"), ready("n2"), ready("n3"));
    Map<String, Integer> vms = Map.of("n1", 0, "n2", 3, "n3", 1);
    assertThat(Placement.place(SPEC, nodes, Map.of(), vms, "n2")).isEqualTo(new Decision.Placed("n2"));
    assertThat(Placement.place(SPEC, nodes, Map.of("n2", 8000L), vms, "n2")).isEqualTo(new Decision.Placed("n1"));
    assertThat(Placement.place(SPEC, nodes, Map.of(), vms, "gone")).isEqualTo(new Decision.Placed("n1"));
  }

  @Test
  @DisplayName("equal nodes are chosen by smallest id, whatever order they come in")
  void isDeterministic() {
    List<NodeView> nodes = new ArrayList<>(List.of(ready("c"), ready("a"), ready("b")));
    for (int i = 0; i < 5; i++) {
      Collections.shuffle(nodes, new java.util.Random(i));
      assertThat(place(SPEC, nodes)).isEqualTo(new Decision.Placed("a"));
    }
  }

  @Test
  @DisplayName("the message counts nodes per cause, most common first, for a human")
  void explainsWhyNothingFits() {
    VmSpec spec = SPEC.toBuilder().putNodeSelector("zone", "b").build();
    List<NodeView> nodes = List.of(
        ready(info("a1").putLabels("zone", "a")),
        new NodeView("down", NodeState.NODE_STATE_NOT_READY, info("down").putLabels("zone", "b").build()),
        ready(info("full").putLabels("zone", "b")),
        ready(info("a2").putLabels("zone", "a")));
    Decision d = Placement.place(spec, nodes, Map.of("full", 7680L), Map.of(), null);
    assertThat(unschedulable(d)).isEqualTo(
        "no node fits: 2 nodes lack label zone=b, 1 node is NOT_READY, 1 node has 512 MiB free of the 1024 MiB asked");
    assertThat(unschedulable(place(spec, List.of()))).isEqualTo("no node fits: no node has registered");
  }
}
