package io.mpqemu.controlplane.reconcile;

import static org.assertj.core.api.Assertions.assertThat;

import io.mpqemu.controlplane.store.Change;
import io.mpqemu.controlplane.store.StoredVm;
import io.mpqemu.controlplane.store.VmFilter;
import io.mpqemu.grpc.GrpcCallException;
import io.mpqemu.v1.AgentVm;
import io.mpqemu.v1.DesiredState;
import io.mpqemu.v1.EventType;
import io.mpqemu.v1.Phase;
import io.mpqemu.v1.RestartPolicy;
import io.mpqemu.v1.VmEvent;
import io.mpqemu.v1.VmRef;
import io.mpqemu.wire.Timestamps;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.grpc.common.GrpcStatus;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The reconciler against nodes that do what they are told ({@link RecordingAgents}), on a real store, with
 * time moved by the test ({@link FakeTimers}): each case says which commands the nodes get, and what the
 * VM's status and the event log say after. No sleeps: every agent answers at once, and each step waits for
 * the commits it asked for.
 */
class ReconcilerTest {

  @TempDir
  Path dir;

  private CoreHarness h;
  private RecordingAgents agents;
  private FakeTimers timers;

  @BeforeEach
  void start() {
    h = new CoreHarness(dir);
    agents = h.agents;
    timers = h.timers;
  }

  @AfterEach
  void stop() {
    h.close();
  }

  @Test
  @DisplayName("a VM created RUNNING is placed on the READY node, launched there once, and recorded RUNNING from the node's answer")
  void createdVmIsPlacedAndLaunchedOnce() {
    h.ready("node-a", 1024);
    agents.takeCommands(true);

    StoredVm web = create("web", RestartPolicy.NEVER);

    agents.assertCommands("launch node-a web");
    StoredVm now = h.vm("web");
    assertThat(now.status().getPhase()).isEqualTo(Phase.PHASE_RUNNING);
    assertThat(now.status().getNode()).isEqualTo("node-a");
    assertThat(types(web.id())).containsExactly(EventType.ACCEPTED, EventType.SCHEDULED, EventType.RECONCILED);
  }

  @Test
  @DisplayName("a pass over a node that runs what it should only lists it: no command, no event")
  void aPassOverAConvergedNodeDoesNothing() {
    h.ready("node-a", 1024);
    StoredVm web = create("web", RestartPolicy.NEVER);
    agents.takeCommands(true);
    List<VmEvent> before = h.events();

    pass();

    assertThat(agents.takeCommands(true)).containsExactly("list node-a");
    assertThat(h.events()).isEqualTo(before);
    assertThat(h.vm("web").status().getPhase()).isEqualTo(Phase.PHASE_RUNNING);
    assertThat(web.id()).isEqualTo(h.vm("web").id());
  }

  @Test
  @DisplayName("a VM its node forgot is launched there again on the next pass, once: the pass after finds it running")
  void aForgottenVmIsRelaunchedOnce() {
    h.ready("node-a", 1024);
    StoredVm web = create("web", RestartPolicy.NEVER);
    agents.takeCommands(false);
    agents.forgets("node-a", web.id());

    pass();
    agents.assertCommands("launch node-a web");
    assertThat(types(web.id())).contains(EventType.RECONCILED);
    assertThat(h.vm("web").status().getPhase()).isEqualTo(Phase.PHASE_RUNNING);

    pass();
    agents.assertCommands();
  }

  @Test
  @DisplayName("a stopped VM that runs again on its node is stopped by the next pass")
  void aVmThatShouldNotRunIsStopped() {
    h.ready("node-a", 1024);
    StoredVm web = create("web", RestartPolicy.NEVER);
    h.on(() -> h.core().intents().stop(ref("web"), 30, false, 0));
    h.settle();
    agents.assertCommands("launch node-a web", "stop node-a web");
    assertThat(h.vm("web").status().getPhase()).isEqualTo(Phase.PHASE_STOPPED);

    agents.runs("node-a", RecordingAgents.view(web.id(), web, Phase.PHASE_RUNNING));
    pass();

    agents.assertCommands("stop node-a web");
    assertThat(h.vm("web").status().getPhase()).isEqualTo(Phase.PHASE_STOPPED);
  }

  @Test
  @DisplayName("a VM a node runs that the store does not know is deleted there and recorded as OrphanRemoved")
  void anOrphanIsRemoved() {
    h.ready("node-a", 1024);
    String orphan = "00000000-0000-4000-8000-0000000000aa";
    agents.runs("node-a", AgentVm.newBuilder().setVmId(orphan).setSpec(CoreHarness.spec("stray", RestartPolicy.NEVER))
        .setPhase(Phase.PHASE_RUNNING).build());

    pass();

    agents.assertCommands("delete node-a stray");
    assertThat(h.events()).filteredOn(e -> e.getVmId().equals(orphan)).singleElement()
        .satisfies(e -> assertThat(e.getReason()).isEqualTo("OrphanRemoved"));
    pass();
    agents.assertCommands();
  }

  @Test
  @DisplayName("a launch refused for a missing image leaves the VM PENDING (ImageMissing) on that node, tried again after 1 s, then 2 s, with one event for the cause")
  void aRefusedLaunchBacksOff() {
    h.ready("node-a", 1024);
    agents.launchAnswer = vm -> Future.failedFuture(new GrpcCallException(GrpcStatus.FAILED_PRECONDITION,
        "image web.img does not exist under the image root"));
    StoredVm web = create("web", RestartPolicy.NEVER);

    agents.assertCommands("launch node-a web");
    assertThat(h.vm("web").status().getPhase()).isEqualTo(Phase.PHASE_PENDING);
    assertThat(h.vm("web").status().getReason()).isEqualTo("ImageMissing");
    assertThat(timers.pendingDelays()).containsExactly(Duration.ofSeconds(1));

    pass(); // a pass leaves a VM waiting for its back-off alone
    agents.assertCommands();

    h.advance(Duration.ofSeconds(1));
    agents.assertCommands("launch node-a web");
    assertThat(timers.pendingDelays()).containsExactly(Duration.ofSeconds(2));
    assertThat(types(web.id())).filteredOn(t -> t == EventType.DISPATCH_FAILED).hasSize(1);

    agents.launchAnswer = vm -> Future.succeededFuture(RecordingAgents.view(vm.id(), vm, Phase.PHASE_RUNNING));
    h.advance(Duration.ofSeconds(2));
    agents.assertCommands("launch node-a web");
    assertThat(h.vm("web").status().getPhase()).isEqualTo(Phase.PHASE_RUNNING);
  }

  @Test
  @DisplayName("a VM whose image is missing on its node goes, after the back-off, to another node that may hold it; when every node lacks it, it waits on the last with back-off and one event per node")
  void aMissingImageMovesTheVm() {
    h.ready("node-a", 1024);
    h.ready("node-b", 1024);
    agents.launchAnswer = vm -> Future.failedFuture(new GrpcCallException(GrpcStatus.FAILED_PRECONDITION,
        "devices[0].disks[0].base: 'debian-12' is not in this node's catalog (see ListImages)"));
    StoredVm web = create("web", RestartPolicy.NEVER);
    String first = h.vm("web").status().getNode();
    String other = first.equals("node-a") ? "node-b" : "node-a";
    agents.assertCommands("launch " + first + " web");
    assertThat(h.vm("web").status().getReason()).isEqualTo("ImageMissing");

    h.advance(Duration.ofSeconds(1));
    agents.assertCommands("launch " + other + " web");
    assertThat(h.vm("web").status().getNode()).isEqualTo(other);
    assertThat(h.events()).filteredOn(e -> e.getVmId().equals(web.id()) && e.getType() == EventType.SCHEDULED)
        .last().satisfies(e -> assertThat(e.getMessage()).isEqualTo("placed on node " + other + ": node " + first
            + " lacks its image"));

    // both lack it: it stays on the last one, tried with a growing back-off, and says so once per node
    h.advance(Duration.ofSeconds(2));
    agents.assertCommands("launch " + other + " web");
    h.advance(Duration.ofSeconds(4));
    agents.assertCommands("launch " + other + " web");
    assertThat(types(web.id())).filteredOn(t -> t == EventType.DISPATCH_FAILED).hasSize(2);

    agents.launchAnswer = vm -> Future.succeededFuture(RecordingAgents.view(vm.id(), vm, Phase.PHASE_RUNNING));
    h.advance(Duration.ofSeconds(8));
    agents.assertCommands("launch " + other + " web");
    assertThat(h.vm("web").status().getPhase()).isEqualTo(Phase.PHASE_RUNNING);
  }

  @Test
  @DisplayName("a VM with restart_policy ON_FAILURE that fails is launched again after 1 s, and after 2 s when it fails again")
  void aFailedVmRestartsWithBackoff() {
    h.ready("node-a", 1024);
    StoredVm web = create("web", RestartPolicy.ON_FAILURE);
    agents.takeCommands(false);

    failOn("node-a", web);
    assertThat(h.vm("web").status().getRestarts()).isEqualTo(1);
    assertThat(timers.pendingDelays()).containsExactly(Duration.ofSeconds(1));
    h.advance(Duration.ofMillis(999));
    agents.assertCommands();
    h.advance(Duration.ofMillis(1));
    agents.assertCommands("launch node-a web");
    assertThat(h.vm("web").status().getPhase()).isEqualTo(Phase.PHASE_RUNNING);

    failOn("node-a", web);
    assertThat(h.vm("web").status().getRestarts()).isEqualTo(2);
    assertThat(timers.pendingDelays()).containsExactly(Duration.ofSeconds(2));
    assertThat(types(web.id())).filteredOn(t -> t == EventType.RESTART_SCHEDULED).hasSize(2);
  }

  @Test
  @DisplayName("a VM with restart_policy NEVER that fails stays FAILED: no timer, no launch")
  void aFailedVmWithoutPolicyStays() {
    h.ready("node-a", 1024);
    StoredVm web = create("web", RestartPolicy.NEVER);
    agents.takeCommands(false);

    failOn("node-a", web);
    pass();

    assertThat(timers.pendingDelays()).isEmpty();
    agents.assertCommands();
    assertThat(h.vm("web").status().getPhase()).isEqualTo(Phase.PHASE_FAILED);
  }

  @Test
  @DisplayName("when a node is lost its running VMs become UNKNOWN, and a VM whose launch never reached it waits to be placed again")
  void aLostNodesVmsFollow() {
    h.ready("node-a", 1024);
    StoredVm web = create("web", RestartPolicy.NEVER);
    Promise<AgentVm> never = Promise.promise();
    agents.launchAnswer = vm -> never.future();
    create("db", RestartPolicy.NEVER);
    assertThat(h.vm("db").status().getPhase()).isEqualTo(Phase.PHASE_SCHEDULED);

    h.advance(Duration.ofSeconds(6));
    h.run(() -> h.core().liveness().check());

    assertThat(h.vm("web").status().getPhase()).isEqualTo(Phase.PHASE_UNKNOWN);
    assertThat(h.vm("db").status().getPhase()).isEqualTo(Phase.PHASE_PENDING);
    assertThat(h.vm("db").status().getNode()).isEmpty();
    assertThat(h.events()).anyMatch(e -> e.getType() == EventType.NODE_LOST && e.getNode().equals("node-a"));
    assertThat(web.id()).isNotEmpty();
  }

  @Test
  @DisplayName("VMs waiting for room are placed in one pass as far as the node's memory goes; the rest say why they wait")
  void waitingVmsArePlacedWithinCapacity() {
    for (int i = 0; i < 6; i++) {
      create("vm" + i, RestartPolicy.NEVER);
    }
    assertThat(h.vm("vm0").status().getPhase()).isEqualTo(Phase.PHASE_PENDING);
    agents.assertCommands();

    h.ready("node-a", 256); // 4 VMs of 64 MiB

    assertThat(agents.takeCommands(false)).hasSize(4).allMatch(c -> c.startsWith("launch node-a "));
    List<StoredVm> all = h.on(() -> h.store().read(st -> st.listVms(VmFilter.all(), "", 100)));
    assertThat(all).filteredOn(v -> v.status().getPhase() == Phase.PHASE_RUNNING).hasSize(4);
    assertThat(all).filteredOn(v -> v.status().getPhase() == Phase.PHASE_PENDING).hasSize(2)
        .allSatisfy(v -> assertThat(v.status().getMessage()).contains("0 MiB free of the 64 MiB asked"));
  }

  @Test
  @DisplayName("a guest resetting in a loop records its first reset, then one GUEST_RESET per 10 s window carrying the count")
  void resetsInALoopAreMerged() {
    h.ready("node-a", 1024);
    StoredVm web = create("web", RestartPolicy.NEVER);
    for (int i = 0; i < 50; i++) {
      reset(web, i + 1);
      h.advance(Duration.ofMillis(100)); // 50 resets in 5 s
    }
    List<VmEvent> resets = resets(web);
    assertThat(resets).singleElement().satisfies(e -> assertThat(e.getRepeats()).isZero());

    h.advance(Duration.ofSeconds(5)); // the window ends
    resets = resets(web);
    assertThat(resets).hasSize(2);
    assertThat(resets.get(1).getRepeats()).isEqualTo(49);
    assertThat(resets.get(1).getVmSeq()).as("the last one held back").isEqualTo(50);
    assertThat(resets.get(1).getMessage()).startsWith("the guest reset 49 more time(s) in the last 10 s");

    h.advance(Duration.ofSeconds(10)); // a quiet window: nothing more, and the next reset is recorded at once
    assertThat(resets(web)).hasSize(2);
    h.advance(Duration.ofSeconds(1));
    reset(web, 51);
    assertThat(resets(web)).hasSize(3).last().satisfies(e -> assertThat(e.getRepeats()).isZero());
  }

  @Test
  @DisplayName("a status the store could not take while it was down is written by the next pass once it is back: readers of the store see it")
  void statusLostToADownStoreIsWrittenLater() {
    h.ready("node-a", 1024);
    StoredVm web = create("web", RestartPolicy.NEVER);
    h.storeDown(true);
    agents.runs("node-a", RecordingAgents.view(web.id(), web, Phase.PHASE_FAILED));
    h.on(() -> Future.succeededFuture(h.core().reconciler().onAgentEvent(failed(web, "node-a"))));
    h.failure(() -> h.store().commit(Change.builder().build())); // after the event's commit
    assertThat(h.vm("web").status().getPhase()).as("the write model").isEqualTo(Phase.PHASE_FAILED);
    h.storeDown(false);
    assertThat(h.stored(web.id()).status().getPhase()).as("the store, before the pass").isEqualTo(Phase.PHASE_RUNNING);

    pass();

    assertThat(h.stored(web.id()).status().getPhase()).isEqualTo(Phase.PHASE_FAILED);
    assertThat(h.stored(web.id()).status().getReason()).isEqualTo("ProcessExited");
  }

  @Test
  @DisplayName("an agent's event delivered twice (the same vm_seq) moves the status and the log once")
  void duplicateDeliveryIsRecordedOnce() {
    h.ready("node-a", 1024);
    StoredVm web = create("web", RestartPolicy.NEVER);
    VmEvent paused = VmEvent.newBuilder().setVmId(web.id()).setVmName("web").setNode("node-a").setVmSeq(3)
        .setType(EventType.GUEST_PAUSED).setPhase(Phase.PHASE_PAUSED).setReason("GuestPaused")
        .setTime(Timestamps.of(timers.instant())).build();
    VmEvent resumed = paused.toBuilder().setVmSeq(4).setType(EventType.GUEST_RESUMED).setPhase(Phase.PHASE_RUNNING)
        .setReason("GuestResumed").setTime(Timestamps.of(timers.instant().plusMillis(5))).build();

    h.run(() -> h.core().reconciler().onAgentEvent(paused));
    h.run(() -> h.core().reconciler().onAgentEvent(resumed));
    h.run(() -> h.core().reconciler().onAgentEvent(paused)); // late, again

    assertThat(types(web.id())).filteredOn(t -> t == EventType.GUEST_PAUSED).hasSize(1);
    assertThat(h.vm("web").status().getPhase()).as("not moved back by the late copy").isEqualTo(Phase.PHASE_RUNNING);

    // the node lost the VM's state and numbers from 1 again, later: applied and recorded
    VmEvent again = paused.toBuilder().setTime(Timestamps.of(timers.instant().plusSeconds(60))).build();
    h.run(() -> h.core().reconciler().onAgentEvent(again));
    assertThat(types(web.id())).filteredOn(t -> t == EventType.GUEST_PAUSED).hasSize(2);
    assertThat(h.vm("web").status().getPhase()).isEqualTo(Phase.PHASE_PAUSED);
  }

  // ------------------------------------------------------------------ helpers

  private void reset(StoredVm vm, long vmSeq) {
    h.run(() -> h.core().reconciler().onAgentEvent(VmEvent.newBuilder().setVmId(vm.id()).setVmName(vm.name())
        .setNode("node-a").setVmSeq(vmSeq).setType(EventType.GUEST_RESET).setPhase(Phase.PHASE_RUNNING)
        .setReason("GuestReset").setMessage("the guest reset").build()));
  }

  private List<VmEvent> resets(StoredVm vm) {
    return h.events().stream().filter(e -> e.getVmId().equals(vm.id()) && e.getType() == EventType.GUEST_RESET).toList();
  }


  private StoredVm create(String name, RestartPolicy policy) {
    StoredVm vm = h.on(() -> h.core().intents().create(CoreHarness.spec(name, policy), DesiredState.RUNNING, "", ""));
    h.settle();
    return vm;
  }

  /** The node reports the VM failed. */
  private void failOn(String node, StoredVm vm) {
    agents.runs(node, RecordingAgents.view(vm.id(), vm, Phase.PHASE_FAILED));
    h.run(() -> h.core().reconciler().onAgentEvent(failed(vm, node)));
  }

  private static VmEvent failed(StoredVm vm, String node) {
    return VmEvent.newBuilder().setVmId(vm.id()).setVmName(vm.name()).setNode(node).setType(EventType.VM_FAILED)
        .setPhase(Phase.PHASE_FAILED).setReason("ProcessExited").setMessage("main exited with status 1").build();
  }

  private void pass() {
    h.run(() -> h.core().reconciler().reconcile());
  }

  private static VmRef ref(String name) {
    return VmRef.newBuilder().setName(name).build();
  }

  private List<EventType> types(String vmId) {
    return h.events().stream().filter(e -> e.getVmId().equals(vmId)).map(VmEvent::getType).toList();
  }
}
