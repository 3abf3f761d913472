package io.mpqemu.controlplane.store;

import static io.mpqemu.controlplane.store.StoreFixtures.vm;
import static org.assertj.core.api.Assertions.assertThat;

import io.mpqemu.v1.Phase;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/** Listing VMs by phase, node and labels, in id order and in pages, in every {@link Store} engine. */
abstract class StoreListingContract extends StoreEngineTest {

  @BeforeEach
  void seed() {
    store.commit(Change.builder()
        .insert(vm("vm-a", "a", Phase.PHASE_RUNNING, "node-1", Map.of("app", "shop", "tier", "front")))
        .insert(vm("vm-b", "b", Phase.PHASE_RUNNING, "node-2", Map.of("app", "shop", "tier", "back")))
        .insert(vm("vm-c", "c", Phase.PHASE_STOPPED, "node-1", Map.of("app", "blog", "tier", "front")))
        .insert(vm("vm-d", "d", Phase.PHASE_PENDING, "", Map.of()))
        .build());
  }

  @Test
  @DisplayName("an empty filter lists every VM, ordered by id")
  void all() {
    assertThat(ids(VmFilter.all())).containsExactly("vm-a", "vm-b", "vm-c", "vm-d");
  }

  @Test
  @DisplayName("a phase filter lists only the VMs in that phase")
  void byPhase() {
    assertThat(ids(new VmFilter(Phase.PHASE_RUNNING, "", Map.of()))).containsExactly("vm-a", "vm-b");
    assertThat(ids(new VmFilter(Phase.PHASE_FAILED, "", Map.of()))).isEmpty();
  }

  @Test
  @DisplayName("a node filter lists only the VMs on that node")
  void byNode() {
    assertThat(ids(new VmFilter(Phase.PHASE_UNSPECIFIED, "node-1", Map.of()))).containsExactly("vm-a", "vm-c");
  }

  @Test
  @DisplayName("a label filter lists only the VMs carrying every one of its entries")
  void byLabels() {
    assertThat(ids(new VmFilter(Phase.PHASE_UNSPECIFIED, "", Map.of("app", "shop")))).containsExactly("vm-a", "vm-b");
    assertThat(ids(new VmFilter(Phase.PHASE_UNSPECIFIED, "", Map.of("tier", "front"))))
        .containsExactly("vm-a", "vm-c");
    assertThat(ids(new VmFilter(Phase.PHASE_UNSPECIFIED, "", Map.of("app", "shop", "tier", "front"))))
        .containsExactly("vm-a");
    assertThat(ids(new VmFilter(Phase.PHASE_UNSPECIFIED, "", Map.of("app", "shop", "tier", "middle")))).isEmpty();
    assertThat(ids(new VmFilter(Phase.PHASE_UNSPECIFIED, "", Map.of("shop", "app")))).isEmpty();
  }

  @Test
  @DisplayName("phase, node and label filters combine")
  void combined() {
    assertThat(ids(new VmFilter(Phase.PHASE_RUNNING, "node-1", Map.of("tier", "front")))).containsExactly("vm-a");
    assertThat(ids(new VmFilter(Phase.PHASE_STOPPED, "node-1", Map.of("app", "shop")))).isEmpty();
  }

  @Test
  @DisplayName("a value with SQL in it is a plain value")
  void sqlInValues() {
    assertThat(ids(new VmFilter(Phase.PHASE_UNSPECIFIED, "' OR '1'='1", Map.of("app", "x' OR 1=1 --")))).isEmpty();
    assertThat(store.vmByName("' OR '1'='1")).isEmpty();
  }

  @Test
  @DisplayName("250 VMs paged 100 at a time come back once each, in order, in pages of 100, 100 and 50")
  void paging() {
    Change.Builder change = Change.builder();
    for (int i = 0; i < 250; i++) {
      String id = String.format("page-%03d", i);
      change.insert(vm(id, "p" + i, Phase.PHASE_RUNNING, "node-9", Map.of("paged", "yes")));
    }
    store.commit(change.build());
    VmFilter filter = new VmFilter(Phase.PHASE_RUNNING, "node-9", Map.of("paged", "yes"));

    List<String> seen = new ArrayList<>();
    List<Integer> pageSizes = new ArrayList<>();
    String after = "";
    while (true) {
      List<StoredVm> page = store.listVms(filter, after, 100);
      if (page.isEmpty()) {
        break;
      }
      pageSizes.add(page.size());
      page.forEach(vm -> seen.add(vm.id()));
      after = page.get(page.size() - 1).id();
    }

    assertThat(pageSizes).containsExactly(100, 100, 50);
    assertThat(seen).hasSize(250).doesNotHaveDuplicates().isSorted();
    assertThat(seen).first().isEqualTo("page-000");
    assertThat(seen).last().isEqualTo("page-249");
  }

  private List<String> ids(VmFilter filter) {
    return store.listVms(filter, "", 1000).stream().map(StoredVm::id).toList();
  }
}
