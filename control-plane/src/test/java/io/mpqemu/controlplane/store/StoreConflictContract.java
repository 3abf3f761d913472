package io.mpqemu.controlplane.store;

import static io.mpqemu.controlplane.store.StoreFixtures.CREATED;
import static io.mpqemu.controlplane.store.StoreFixtures.event;
import static io.mpqemu.controlplane.store.StoreFixtures.oneEvent;
import static io.mpqemu.controlplane.store.StoreFixtures.spec;
import static io.mpqemu.controlplane.store.StoreFixtures.status;
import static io.mpqemu.controlplane.store.StoreFixtures.vm;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.mpqemu.v1.DesiredState;
import io.mpqemu.v1.EventType;
import io.mpqemu.v1.NodeInfo;
import io.mpqemu.v1.NodeState;
import io.mpqemu.v1.Phase;
import io.mpqemu.v1.VmEvent;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.LongStream;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/** How every {@link Store} engine refuses a change that clashes with stored data: CONFLICT, and nothing of it applied. */
abstract class StoreConflictContract extends StoreEngineTest {

  @Test
  @DisplayName("an update based on an older revision is refused with CONFLICT and changes nothing")
  void staleUpdateRefused() {
    StoredVm v1 = vm("vm-rev", "rev");
    store.commit(Change.builder().insert(v1).build());
    StoredVm v2 = v1.withDesiredState(DesiredState.STOPPED, v1.updatedAt());
    store.commit(Change.builder().update(v2).build());
    long seqBefore = store.lastSeq();

    assertThatThrownBy(() -> store.commit(Change.builder().update(v1).event(event("vm-rev", EventType.ACCEPTED)).build()))
        .isInstanceOfSatisfying(StoreException.class, e -> {
          assertThat(e.kind()).isEqualTo(StoreException.Kind.CONFLICT);
          assertThat(e.getMessage()).contains("revision " + v2.revision()).contains("older version");
        });
    assertThat(store.vm("vm-rev").orElseThrow().desiredState()).isEqualTo(DesiredState.STOPPED);
    assertThat(store.lastSeq()).isEqualTo(seqBefore);
  }

  @Test
  @DisplayName("inserting a VM whose id exists is a CONFLICT naming the id, and nothing of the change is applied")
  void conflictOnId() {
    store.commit(Change.builder().insert(vm("vm-1", "web")).event(event("vm-1", EventType.ACCEPTED)).build());

    Change clash = Change.builder().insert(vm("vm-2", "db")).insert(vm("vm-1", "other"))
        .event(event("vm-2", EventType.ACCEPTED)).request("req-9", "vm-2").build();
    assertThatThrownBy(() -> store.commit(clash))
        .isInstanceOfSatisfying(StoreException.class, e -> assertThat(e.kind()).isEqualTo(StoreException.Kind.CONFLICT))
        .hasMessageContaining("vm-1");

    assertNothingOfTheClashRemains();
  }

  @Test
  @DisplayName("inserting a VM whose name is taken is a CONFLICT naming the name, and nothing of the change is applied")
  void conflictOnName() {
    store.commit(Change.builder().insert(vm("vm-1", "web")).event(event("vm-1", EventType.ACCEPTED)).build());

    Change clash = Change.builder().insert(vm("vm-2", "db")).insert(vm("vm-3", "web"))
        .event(event("vm-2", EventType.ACCEPTED)).request("req-9", "vm-2").build();
    assertThatThrownBy(() -> store.commit(clash))
        .isInstanceOfSatisfying(StoreException.class, e -> assertThat(e.kind()).isEqualTo(StoreException.Kind.CONFLICT))
        .hasMessageContaining("web")
        .hasMessageContaining("vm-1");

    assertNothingOfTheClashRemains();
  }

  @Test
  @DisplayName("two inserts of one name in the same change are a CONFLICT")
  void conflictWithinChange() {
    store.commit(oneEvent("vm-0"));

    Change clash = Change.builder().insert(vm("vm-2", "db")).insert(vm("vm-3", "db"))
        .event(event("vm-2", EventType.ACCEPTED)).build();
    assertThatThrownBy(() -> store.commit(clash))
        .isInstanceOfSatisfying(StoreException.class, e -> assertThat(e.kind()).isEqualTo(StoreException.Kind.CONFLICT))
        .hasMessageContaining("db");

    assertThat(store.vm("vm-2")).isEmpty();
    assertThat(store.lastSeq()).isEqualTo(1);
  }

  @Test
  @DisplayName("a request id that is already mapped is a CONFLICT naming it, and nothing of the change is applied")
  void conflictOnRequestId() {
    store.commit(Change.builder().insert(vm("vm-1", "web")).event(event("vm-1", EventType.ACCEPTED))
        .request("req-9", "vm-1").build());

    Change clash = Change.builder().insert(vm("vm-2", "db")).event(event("vm-2", EventType.ACCEPTED))
        .request("req-9", "vm-2").build();
    assertThatThrownBy(() -> store.commit(clash))
        .isInstanceOfSatisfying(StoreException.class, e -> assertThat(e.kind()).isEqualTo(StoreException.Kind.CONFLICT))
        .hasMessageContaining("req-9")
        .hasMessageContaining("vm-1");

    assertNothingOfTheClashRemains();
    assertThat(store.vmIdForRequest("req-9")).contains("vm-1");
  }

  @Test
  @DisplayName("an update that takes another VM's name is a CONFLICT, and nothing of the change is applied")
  void conflictOnUpdatedName() {
    store.commit(Change.builder().insert(vm("vm-1", "web")).insert(vm("vm-2", "db")).build());

    Change clash = Change.builder().update(vm("vm-2", "web")).event(event("vm-2", EventType.RECONCILED)).build();
    assertThatThrownBy(() -> store.commit(clash))
        .isInstanceOfSatisfying(StoreException.class, e -> assertThat(e.kind()).isEqualTo(StoreException.Kind.CONFLICT));

    assertThat(store.vm("vm-2")).map(StoredVm::name).contains("db");
    assertThat(store.lastSeq()).isZero();
    assertThat(store.commit(oneEvent("vm-2"))).extracting(VmEvent::getSeq).containsExactly(1L);
  }

  private void assertNothingOfTheClashRemains() {
    assertThat(store.vm("vm-2")).isEmpty();
    assertThat(store.vmByName("db")).isEmpty();
    assertThat(store.events(0, "", 10)).extracting(VmEvent::getVmId).containsExactly("vm-1");
    assertThat(store.lastSeq()).isEqualTo(1);
    assertThat(store.commit(oneEvent("vm-1"))).extracting(VmEvent::getSeq).containsExactly(2L);
    assertThat(store.events(0, "", 10)).extracting(VmEvent::getSeq).containsExactly(1L, 2L);
  }

  @Test
  @DisplayName("commitAll applies a group in one go: a clashing change in the middle is refused alone, and the"
      + " others are numbered as if it had never been tried")
  void groupWithAConflict() {
    store.commit(Change.builder().insert(vm("vm-1", "web")).event(event("vm-1", EventType.ACCEPTED)).build());

    List<Store.Result> results = store.commitAll(List.of(
        Change.builder().insert(vm("vm-2", "db")).event(event("vm-2", EventType.ACCEPTED)).build(),
        Change.builder().insert(vm("vm-3", "web")).event(event("vm-3", EventType.ACCEPTED)).build(),
        Change.builder().event(event("vm-2", EventType.SCHEDULED)).event(event("vm-1", EventType.RECONCILED)).build()));

    assertThat(results).hasSize(3);
    assertThat(results.get(0).events()).extracting(VmEvent::getSeq).containsExactly(2L);
    assertThat(results.get(1).failure()).isInstanceOfSatisfying(StoreException.class,
        e -> assertThat(e.kind()).isEqualTo(StoreException.Kind.CONFLICT));
    assertThat(results.get(1).events()).isEmpty();
    assertThat(results.get(2).events()).extracting(VmEvent::getSeq).containsExactly(3L, 4L);
    assertThat(store.vm("vm-2")).isPresent();
    assertThat(store.vm("vm-3")).isEmpty();
    assertThat(store.events(0, "", 10)).extracting(VmEvent::getSeq).containsExactly(1L, 2L, 3L, 4L);
    assertThat(store.lastSeq()).isEqualTo(4);
  }
}
