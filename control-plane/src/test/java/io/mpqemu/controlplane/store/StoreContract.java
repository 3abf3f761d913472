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

/**
 * What every {@link Store} engine does with rows and the log, run against SQLite and PostgreSQL alike by
 * one subclass per engine.
 */
abstract class StoreContract extends StoreEngineTest {

  @Test
  @DisplayName("a VM comes back with its spec, status, labels, desired state, revision, times and owner")
  void roundTrip() {
    StoredVm vm = new StoredVm("vm-1", spec("web", Map.of("app", "shop", "tier", "front")), DesiredState.STOPPED,
        3, status(Phase.PHASE_RUNNING, "node-a"), CREATED, CREATED.plusSeconds(5), "unix:alice");

    store.commit(Change.builder().insert(vm).build());

    assertThat(store.vm("vm-1")).contains(vm);
    assertThat(store.vmByName("web")).contains(vm);
    assertThat(store.vm("vm-2")).isEmpty();
    assertThat(store.vmByName("nope")).isEmpty();
  }

  @Test
  @DisplayName("an update replaces the VM by id, labels included, and an update of a missing VM inserts it")
  void update() {
    StoredVm vm = vm("vm-1", "web", Phase.PHASE_PENDING, "", Map.of("app", "shop"));
    store.commit(Change.builder().insert(vm).build());

    StoredVm changed = new StoredVm("vm-1", spec("web", Map.of("app", "blog")), DesiredState.STOPPED, 2,
        status(Phase.PHASE_RUNNING, "node-b"), CREATED, CREATED.plusSeconds(60), "");
    StoredVm fresh = vm("vm-2", "db");
    store.commit(Change.builder().update(changed).update(fresh).build());

    assertThat(store.vm("vm-1")).contains(changed);
    assertThat(store.vm("vm-2")).contains(fresh);
    assertThat(store.listVms(new VmFilter(Phase.PHASE_UNSPECIFIED, "", Map.of("app", "shop")), "", 10)).isEmpty();
    assertThat(store.listVms(new VmFilter(Phase.PHASE_UNSPECIFIED, "", Map.of("app", "blog")), "", 10))
        .containsExactly(changed);
  }

  @Test
  @DisplayName("a VM without a status is stored and comes back without one")
  void noStatus() {
    StoredVm vm = new StoredVm("vm-1", spec("web", Map.of()), DesiredState.RUNNING, 1, null, CREATED, null, "");

    store.commit(Change.builder().insert(vm).build());

    assertThat(store.vm("vm-1")).contains(vm);
  }

  @Test
  @DisplayName("deleting a VM removes it and its labels but keeps its events")
  void deleteKeepsEvents() {
    StoredVm vm = vm("vm-1", "web", Phase.PHASE_PENDING, "", Map.of("app", "shop"));
    store.commit(Change.builder().insert(vm).event(event("vm-1", EventType.ACCEPTED)).build());

    store.commit(Change.builder().delete("vm-1").event(event("vm-1", EventType.VM_DELETED)).build());

    assertThat(store.vm("vm-1")).isEmpty();
    assertThat(store.vmByName("web")).isEmpty();
    assertThat(store.listVms(new VmFilter(Phase.PHASE_UNSPECIFIED, "", Map.of("app", "shop")), "", 10)).isEmpty();
    assertThat(store.events(0, "vm-1", 10)).extracting(VmEvent::getType)
        .containsExactly(EventType.ACCEPTED, EventType.VM_DELETED);
    store.commit(Change.builder().insert(vm("vm-3", "web")).build());
    assertThat(store.vmByName("web")).map(StoredVm::id).contains("vm-3");
  }

  @Test
  @DisplayName("commit returns the events with their seqs, and the log stores them with the seq set")
  void commitNumbersEvents() {
    List<VmEvent> recorded = store.commit(Change.builder().insert(vm("vm-1", "web"))
        .event(event("vm-1", EventType.ACCEPTED)).event(event("vm-1", EventType.SCHEDULED)).build());

    assertThat(recorded).extracting(VmEvent::getSeq).containsExactly(1L, 2L);
    assertThat(recorded.get(1)).isEqualTo(event("vm-1", EventType.SCHEDULED).toBuilder().setSeq(2).build());
    assertThat(store.events(0, "", 10)).isEqualTo(recorded);
    assertThat(store.lastSeq()).isEqualTo(2);
  }

  @Test
  @DisplayName("a VM written with events about it is stored with the seq of its last one, so row and log agree")
  void rowKnowsItsLastEventSeq() {
    store.commit(oneEvent("other"));
    StoredVm vm = vm("vm-seq", "seq");

    List<VmEvent> recorded = store.commit(Change.builder().insert(vm).event(event("vm-seq", EventType.ACCEPTED))
        .event(event("other", EventType.ACCEPTED)).event(event("vm-seq", EventType.SCHEDULED)).build());

    assertThat(recorded).extracting(VmEvent::getSeq).containsExactly(2L, 3L, 4L);
    assertThat(store.vm("vm-seq").orElseThrow().status().getLastEventSeq()).isEqualTo(4L);
    store.commit(Change.builder().update(vm).build());
    assertThat(store.vm("vm-seq").orElseThrow().status().getLastEventSeq())
        .as("a write without events stores what it is given").isEqualTo(vm.status().getLastEventSeq());
  }

  @Test
  @DisplayName("seqs are gap-free and increasing across many commits, including failed ones")
  void gapFreeSeqs() {
    store.commit(Change.builder().insert(vm("vm-x", "taken")).build());
    List<Long> seqs = new ArrayList<>();
    for (int i = 0; i < 200; i++) {
      if (i % 7 == 0) {
        Change clash = Change.builder().insert(vm("vm-y" + i, "taken")).event(event("vm-y", EventType.ACCEPTED))
            .build();
        assertThatThrownBy(() -> store.commit(clash)).isInstanceOf(StoreException.class);
      }
      Change.Builder change = Change.builder();
      for (int j = 0; j <= i % 3; j++) {
        change.event(event("vm-" + (i % 5), EventType.RECONCILED));
      }
      store.commit(change.build()).forEach(e -> seqs.add(e.getSeq()));
    }

    assertThat(seqs).containsExactlyElementsOf(LongStream.rangeClosed(1, seqs.size()).boxed().toList());
    assertThat(store.lastSeq()).isEqualTo(seqs.size());
    assertThat(store.events(0, "", 10_000)).extracting(VmEvent::getSeq).containsExactlyElementsOf(seqs);
  }

  @Test
  @DisplayName("the log, VMs, nodes and request ids are all intact after closing and reopening the store, and seqs go on from there")
  void survivesReopen() {
    StoredVm vm = vm("vm-1", "web", Phase.PHASE_RUNNING, "node-a", Map.of("app", "shop"));
    store.commit(Change.builder().insert(vm).event(event("vm-1", EventType.ACCEPTED)).request("req-1", "vm-1")
        .build());
    for (int i = 0; i < 20; i++) {
      store.commit(oneEvent("vm-1"));
    }
    StoredNode node = new StoredNode("node-a", "unix:/run/mpqemu/agent.sock", NodeState.NODE_STATE_READY,
        NodeInfo.newBuilder().setNodeId("node-a").setQemuVersion("7.2.0").putLabels("zone", "a").build(),
        Instant.parse("2025-03-01T10:00:00.5Z"));
    store.putNode(node);
    List<VmEvent> log = store.events(0, "", 100);
    store.close();

    store = engine().reopen();

    assertThat(store.lastSeq()).isEqualTo(21);
    assertThat(store.events(0, "", 100)).isEqualTo(log);
    // stored with the seq of its ACCEPTED event, the one event that came with the write
    assertThat(store.vm("vm-1")).contains(vm.withStatus(vm.status().toBuilder().setLastEventSeq(1).build(), vm.updatedAt()));
    assertThat(store.vmIdForRequest("req-1")).contains("vm-1");
    assertThat(store.nodes()).containsExactly(node);
    assertThat(store.commit(oneEvent("vm-1"))).extracting(VmEvent::getSeq).containsExactly(22L);
  }

  @Test
  @DisplayName("retention removes the events before a seq; the log starts there, later seqs stay, and seqs go on after a reopen")
  void eventsBeforeASeqAreRemoved() {
    for (int i = 0; i < 10; i++) {
      store.commit(oneEvent("vm-" + (i % 2)));
    }
    assertThat(store.firstSeq()).isEqualTo(1);

    assertThat(store.deleteEventsBefore(7)).isEqualTo(6);
    assertThat(store.deleteEventsBefore(7)).as("again: nothing left to remove").isZero();

    assertThat(store.firstSeq()).isEqualTo(7);
    assertThat(store.events(0, "", 100)).extracting(VmEvent::getSeq).containsExactly(7L, 8L, 9L, 10L);
    assertThat(store.events(0, "vm-1", 100)).extracting(VmEvent::getSeq).containsExactly(8L, 10L);
    store.close();
    store = engine().reopen();
    assertThat(store.firstSeq()).isEqualTo(7);
    assertThat(store.commit(oneEvent("vm-1"))).extracting(VmEvent::getSeq).containsExactly(11L);
  }

  @Test
  @DisplayName("an agent's event delivered twice (same node, VM, vm_seq and content) is recorded once; the same numbers from another node or VM, or with other content, are recorded")
  void agentEventsAreRecordedOnce() {
    VmEvent launched = event("vm-1", EventType.LAUNCHED).toBuilder().setNode("node-a").setVmSeq(7).build();
    assertThat(store.commit(Change.builder().event(launched).build())).extracting(VmEvent::getSeq).containsExactly(1L);

    assertThat(store.commit(Change.builder().event(launched).build())).as("again, alone").isEmpty();
    assertThat(store.commit(Change.builder().event(launched).event(launched).event(event("vm-1", EventType.RECONCILED))
        .build())).as("again, in a change with another event").extracting(VmEvent::getSeq).containsExactly(2L);
    List<VmEvent> others = store.commit(Change.builder()
        .event(launched.toBuilder().setNode("node-b").build())
        .event(launched.toBuilder().setVmId("vm-2").build())
        .event(launched.toBuilder().setVmSeq(8).build())
        .event(launched.toBuilder().setMessage("numbered from 1 again by a node that lost its state").build()).build());

    assertThat(others).extracting(VmEvent::getSeq).containsExactly(3L, 4L, 5L, 6L);
    assertThat(store.events(0, "", 100)).extracting(VmEvent::getSeq).containsExactly(1L, 2L, 3L, 4L, 5L, 6L);

    VmEvent stopped = launched.toBuilder().setVmSeq(9).setType(EventType.VM_STOPPED).build();
    List<Store.Result> group = store.commitAll(List.of(Change.builder().event(stopped).build(),
        Change.builder().event(stopped).build()));
    assertThat(group).as("one group, the same event in two of its changes")
        .extracting(r -> r.events().size()).containsExactly(1, 0);
  }

  @Test
  @DisplayName("an empty log starts at seq 0")
  void emptyLogFirstSeq() {
    assertThat(store.firstSeq()).isZero();
    assertThat(store.deleteEventsBefore(100)).isZero();
  }

  @Test
  @DisplayName("events are read after a seq, in seq order, up to a limit, of every VM or of one")
  void readEvents() {
    for (int i = 0; i < 10; i++) {
      store.commit(Change.builder().event(event("vm-" + (i % 2), EventType.RECONCILED))
          .event(event("", EventType.NODE_READY).toBuilder().setNode("node-a").build()).build());
    }

    assertThat(store.events(0, "", 100)).hasSize(20);
    assertThat(store.events(5, "", 3)).extracting(VmEvent::getSeq).containsExactly(6L, 7L, 8L);
    assertThat(store.events(0, null, 2)).extracting(VmEvent::getSeq).containsExactly(1L, 2L);
    assertThat(store.events(0, "vm-1", 100)).extracting(VmEvent::getSeq).containsExactly(3L, 7L, 11L, 15L, 19L);
    assertThat(store.events(7, "vm-1", 2)).extracting(VmEvent::getSeq).containsExactly(11L, 15L);
    assertThat(store.events(0, "vm-1", 100)).allSatisfy(e -> assertThat(e.getVmId()).isEqualTo("vm-1"));
    assertThat(store.events(20, "", 100)).isEmpty();
    assertThat(store.events(0, "vm-9", 100)).isEmpty();
  }

  @Test
  @DisplayName("a request id maps to the VM its CreateVm created, and an unknown one to nothing")
  void requestIds() {
    store.commit(Change.builder().insert(vm("vm-1", "web")).request("req-1", "vm-1").build());

    assertThat(store.vmIdForRequest("req-1")).contains("vm-1");
    assertThat(store.vmIdForRequest("req-2")).isEmpty();
  }

  @Test
  @DisplayName("putNode inserts a node and replaces it by id; nodes come ordered by id")
  void nodes() {
    StoredNode b = new StoredNode("node-b", "tcp:10.0.0.2:7000", NodeState.NODE_STATE_READY,
        NodeInfo.newBuilder().setNodeId("node-b").build(), Instant.parse("2025-03-01T10:00:00Z"));
    StoredNode a = new StoredNode("node-a", "unix:/run/a.sock", NodeState.NODE_STATE_READY,
        NodeInfo.newBuilder().setNodeId("node-a").build(), Instant.parse("2025-03-01T10:00:00Z"));
    store.putNode(b);
    store.putNode(a);
    StoredNode lostB = new StoredNode("node-b", "tcp:10.0.0.2:7001", NodeState.NODE_STATE_LOST,
        NodeInfo.newBuilder().setNodeId("node-b").setVmCount(3).build(), Instant.parse("2025-03-01T10:05:00Z"));

    store.putNode(lostB);

    assertThat(store.nodes()).containsExactly(a, lostB);
  }

  @Test
  @DisplayName("a closed store refuses calls with UNAVAILABLE")
  void closedStore() {
    store.close();

    assertThatThrownBy(() -> store.lastSeq())
        .isInstanceOfSatisfying(StoreException.class,
            e -> assertThat(e.kind()).isEqualTo(StoreException.Kind.UNAVAILABLE))
        .hasMessageContaining("closed");
    store.close();
  }

  @Test
  @DisplayName("a reader sees what the writer committed, on a connection of its own, and refuses to write")
  void reader() {
    try (Store reader = store.reader()) {
      assertThat(reader.lastSeq()).isZero();
      store.commit(Change.builder().insert(vm("vm-1", "web")).event(event("vm-1", EventType.ACCEPTED)).build());

      assertThat(reader.lastSeq()).isEqualTo(1);
      assertThat(reader.vmByName("web")).map(StoredVm::id).contains("vm-1");
      assertThat(reader.events(0, "vm-1", 10)).extracting(VmEvent::getSeq).containsExactly(1L);
      assertThatThrownBy(() -> reader.commit(oneEvent("vm-1"))).isInstanceOf(IllegalStateException.class)
          .hasMessageContaining("does not write");
      assertThatThrownBy(() -> reader.putNode(new StoredNode("node-a", "", NodeState.NODE_STATE_READY, null, null)))
          .isInstanceOf(IllegalStateException.class);
    }
    assertThat(store.lastSeq()).as("the writer outlives its reader").isEqualTo(1);
  }
}
