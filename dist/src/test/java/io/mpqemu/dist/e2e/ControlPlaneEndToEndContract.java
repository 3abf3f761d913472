package io.mpqemu.dist.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.mpqemu.controlplane.store.StoreTarget;
import io.mpqemu.grpc.GrpcCallException;
import io.mpqemu.testing.Await;
import io.mpqemu.v1.AgentDeleteVmRequest;
import io.mpqemu.v1.CreateVmRequest;
import io.mpqemu.v1.DeleteVmRequest;
import io.mpqemu.v1.DesiredState;
import io.mpqemu.v1.EventType;
import io.mpqemu.v1.GetConsoleLogRequest;
import io.mpqemu.v1.GetNodeInfoRequest;
import io.mpqemu.v1.ListControlPlanesRequest;
import io.mpqemu.v1.ListNodesRequest;
import io.mpqemu.v1.NodeAgentServiceGrpcClient;
import io.mpqemu.v1.NodeState;
import io.mpqemu.v1.Phase;
import io.mpqemu.v1.ProcessStatus;
import io.mpqemu.v1.RestartPolicy;
import io.mpqemu.v1.StartVmRequest;
import io.mpqemu.v1.StopVmRequest;
import io.mpqemu.v1.Vm;
import io.mpqemu.v1.VmEvent;
import io.mpqemu.v1.VmServiceGrpcClient;
import io.vertx.grpc.common.GrpcStatus;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/**
 * The control plane drives real agents and QEMU through its gRPC API: the same cases on each store engine,
 * one subclass per engine.
 */
abstract class ControlPlaneEndToEndContract {

  private static final Duration WAIT = Duration.ofSeconds(30);
  Fleet fleet;

  @BeforeEach
  void start() throws Exception {
    fleet = new Fleet().onStore(store()).startAgent("node-a", Map.of("zone", "a")).startControlPlane();
  }

  @AfterEach
  void close() throws Exception {
    fleet.close();
  }

  /** Where this case's control plane keeps its state: null for SQLite in its data directory. */
  abstract StoreTarget store() throws Exception;

  @Test
  @DisplayName("create, see ACCEPTED ... RUNNING in WatchEvents, read the greeting, stop, start, delete")
  void lifecycle() throws Exception {
    List<VmEvent> events = fleet.watch(0, null);
    String image = fleet.bootImage("boot.img", "Hello from the control plane");

    Vm created = fleet.call(VmServiceGrpcClient.CreateVm, CreateVmRequest.newBuilder()
        .setSpec(Fleet.lsi("web", image)).setRequestId("req-1").build());

    assertThat(created.getStatus().getPhase()).isIn(Phase.PHASE_PENDING, Phase.PHASE_SCHEDULED);
    assertThat(created.getDesiredState()).isEqualTo(DesiredState.RUNNING);
    assertThat(created.getRevision()).isEqualTo(1);
    Vm running = fleet.awaitPhase(created.getId(), Phase.PHASE_RUNNING, WAIT);
    assertThat(running.getStatus().getNode()).isEqualTo("node-a");
    assertThat(running.getStatus().getProcessesList()).extracting(ProcessStatus::getName).containsExactly("lsi0", "main");
    Fleet.awaitEvent(events, e -> e.getType() == EventType.LAUNCHED, WAIT);
    List<EventType> order = events.stream().filter(e -> e.getVmId().equals(created.getId())).map(VmEvent::getType).toList();
    assertThat(order).containsSubsequence(EventType.ACCEPTED, EventType.SCHEDULED, EventType.LAUNCH_STARTED,
        EventType.PROCESS_STARTED, EventType.PROCESS_STARTED, EventType.LAUNCHED);
    assertThat(events).extracting(VmEvent::getSeq).isSorted().doesNotHaveDuplicates();
    GetConsoleLogRequest consoleOf = GetConsoleLogRequest.newBuilder().setVm(Fleet.ref(created.getId())).build();
    String console = Await.atMost(WAIT).every(Duration.ofMillis(50)).poll(
        () -> fleet.call(VmServiceGrpcClient.GetConsoleLog, consoleOf).getData().toStringUtf8(),
        shown -> shown.contains("Hello from the control plane"));
    assertThat(console).contains("Hello from the control plane");
    // the agent runs its VMs under TCG: the VM's status says its proxied device's interrupts do not reach the guest
    Vm withConditions = Await.atMost(WAIT).every(Duration.ofMillis(50)).poll(() -> fleet.call(VmServiceGrpcClient.GetVm,
        io.mpqemu.v1.GetVmRequest.newBuilder().setVm(Fleet.ref(created.getId())).build()),
        v -> v.getStatus().getConditionsCount() > 0);
    assertThat(withConditions.getStatus().getConditionsList()).extracting(io.mpqemu.v1.Condition::getType)
        .containsExactly("DeviceInterruptsNotDelivered");

    Vm stopping = fleet.call(VmServiceGrpcClient.StopVm, StopVmRequest.newBuilder().setVm(Fleet.ref(created.getId()))
        .setTimeoutSeconds(1).build());
    assertThat(stopping.getDesiredState()).isEqualTo(DesiredState.STOPPED);
    assertThat(stopping.getRevision()).isEqualTo(2);
    fleet.awaitPhase(created.getId(), Phase.PHASE_STOPPED, WAIT);
    assertThat(fleet.qemuPids()).isEmpty();

    fleet.call(VmServiceGrpcClient.StartVm, StartVmRequest.newBuilder().setVm(Fleet.ref(created.getId())).build());
    fleet.awaitPhase(created.getId(), Phase.PHASE_RUNNING, WAIT);
    assertThat(fleet.qemuPids()).hasSize(2);

    fleet.call(VmServiceGrpcClient.DeleteVm, DeleteVmRequest.newBuilder().setVm(Fleet.ref(created.getId())).build());
    assertThatThrownBy(() -> fleet.get(created.getId())).isInstanceOfSatisfying(GrpcCallException.class,
        e -> assertThat(e.status()).isEqualTo(GrpcStatus.NOT_FOUND));
    assertThat(fleet.qemuPids()).isEmpty();
    List<VmEvent> replay = fleet.watch(0, created.getId());
    Fleet.awaitEvent(replay, e -> e.getType() == EventType.VM_DELETED, WAIT);
  }

  @Test
  @DisplayName("the same request_id and spec answer with the same VM; the same name with another spec is ALREADY_EXISTS")
  void createIsIdempotent() {
    CreateVmRequest request = CreateVmRequest.newBuilder().setSpec(Fleet.lsi("db", "none.img"))
        .setDesiredState(DesiredState.STOPPED).setRequestId("create-db-1").build();

    Vm first = fleet.call(VmServiceGrpcClient.CreateVm, request);
    Vm again = fleet.call(VmServiceGrpcClient.CreateVm, request);

    assertThat(again.getId()).isEqualTo(first.getId());
    assertThat(first.getStatus().getPhase()).isEqualTo(Phase.PHASE_STOPPED);
    assertThatThrownBy(() -> fleet.call(VmServiceGrpcClient.CreateVm, request.toBuilder().clearRequestId()
        .setSpec(request.getSpec().toBuilder().setMemoryMib(128)).build()))
        .isInstanceOfSatisfying(GrpcCallException.class, e -> {
          assertThat(e.status()).isEqualTo(GrpcStatus.ALREADY_EXISTS);
          assertThat(e.serverMessage()).contains("'db'");
        });
    assertThatThrownBy(() -> fleet.call(VmServiceGrpcClient.CreateVm, request.toBuilder()
        .setSpec(request.getSpec().toBuilder().setMemoryMib(128)).build()))
        .isInstanceOfSatisfying(GrpcCallException.class, e -> {
          assertThat(e.status()).isEqualTo(GrpcStatus.ALREADY_EXISTS);
          assertThat(e.serverMessage()).contains("request_id create-db-1");
        });
  }

  @Test
  @DisplayName("restarting the control plane keeps intents, statuses and the log; the VM stays managed; a subscriber resumes exactly")
  void restartKeepsEverything() throws Exception {
    String image = fleet.bootImage("boot.img", "survivor");
    List<VmEvent> before = fleet.watch(0, null);
    Vm vm = fleet.create(Fleet.lsi("survivor", image), DesiredState.RUNNING);
    fleet.awaitPhase(vm.getId(), Phase.PHASE_RUNNING, WAIT);
    Fleet.awaitEvent(before, e -> e.getType() == EventType.LAUNCHED, WAIT);
    long lastSeen = before.get(before.size() - 1).getSeq();
    List<Long> pids = fleet.qemuPids();

    fleet.stopControlPlane();
    fleet.startControlPlane();

    Vm after = fleet.get(vm.getId());
    assertThat(after.getSpec()).isEqualTo(vm.getSpec());
    assertThat(after.getStatus().getPhase()).isEqualTo(Phase.PHASE_RUNNING);
    assertThat(fleet.qemuPids()).containsExactlyInAnyOrderElementsOf(pids);
    List<VmEvent> resumed = fleet.watch(lastSeen, null);
    List<VmEvent> all = fleet.watch(0, null);
    Fleet.awaitEvent(all, e -> e.getType() == EventType.NODE_READY && e.getSeq() > lastSeen, WAIT);
    Await.sleep(300);
    assertThat(all.subList(0, before.size())).as("the log is intact across the restart").isEqualTo(before);
    assertThat(resumed).as("a resumed subscriber gets exactly what it missed")
        .isEqualTo(all.stream().filter(e -> e.getSeq() > lastSeen).toList());

    fleet.call(VmServiceGrpcClient.StopVm, StopVmRequest.newBuilder().setVm(Fleet.ref(vm.getId())).setForce(true).build());
    fleet.awaitPhase(vm.getId(), Phase.PHASE_STOPPED, WAIT);
    assertThat(fleet.qemuPids()).isEmpty();
  }

  @Test
  @DisplayName("three subscribers started at different times see the same events in the same order")
  void subscribersAgree() throws Exception {
    List<VmEvent> first = fleet.watch(0, null);
    Vm a = fleet.create(Fleet.lsi("a", "x.img"), DesiredState.STOPPED);
    List<VmEvent> second = fleet.watch(0, null);
    Vm b = fleet.create(Fleet.lsi("b", "x.img"), DesiredState.STOPPED);
    fleet.call(VmServiceGrpcClient.DeleteVm, DeleteVmRequest.newBuilder().setVm(Fleet.ref(a.getId())).build());
    List<VmEvent> third = fleet.watch(0, null);
    fleet.call(VmServiceGrpcClient.DeleteVm, DeleteVmRequest.newBuilder().setVm(Fleet.ref(b.getId())).build());

    for (List<VmEvent> seen : List.of(first, second, third)) {
      Fleet.awaitEvent(seen, e -> e.getVmId().equals(b.getId()) && e.getType() == EventType.VM_DELETED, WAIT);
    }
    Await.sleep(200);
    assertThat(second).isEqualTo(first);
    assertThat(third).isEqualTo(first);
    assertThat(first).extracting(VmEvent::getSeq).isSorted().doesNotHaveDuplicates();
  }

  @Test
  @DisplayName("a VM whose node_selector matches no node stays PENDING with a reason, and is placed when such a node appears")
  void pendingUntilNodeFits() throws Exception {
    String image = fleet.bootImage("boot.img", "on b");
    List<VmEvent> events = fleet.watch(0, null);
    Vm vm = fleet.create(Fleet.lsi("picky", image).toBuilder().putNodeSelector("zone", "b").build(), DesiredState.RUNNING);

    // before node-a's first heartbeat the reason is that no node registered; then it names the label
    VmEvent unschedulable = Fleet.awaitEvent(events, e -> e.getType() == EventType.UNSCHEDULABLE
        && e.getMessage().contains("zone=b"), WAIT);
    assertThat(unschedulable.getMessage()).contains("1 node lacks label zone=b");
    assertThat(fleet.get(vm.getId()).getStatus().getPhase()).isEqualTo(Phase.PHASE_PENDING);
    assertThat(fleet.get(vm.getId()).getStatus().getReason()).isEqualTo("Unschedulable");

    fleet.startAgent("node-b", Map.of("zone", "b"));

    Vm placed = fleet.awaitPhase(vm.getId(), Phase.PHASE_RUNNING, WAIT);
    assertThat(placed.getStatus().getNode()).isEqualTo("node-b");
    assertThat(fleet.call(VmServiceGrpcClient.ListNodes, ListNodesRequest.getDefaultInstance()).getNodesList())
        .extracting(n -> n.getId() + "/" + n.getState())
        .contains("node-a/" + NodeState.NODE_STATE_READY, "node-b/" + NodeState.NODE_STATE_READY);
  }

  @Test
  @DisplayName("ListControlPlanes lists this control plane, alone on its store, as the leader, with its address")
  void listsItselfAsLeader() {
    assertThat(fleet.call(VmServiceGrpcClient.ListControlPlanes, ListControlPlanesRequest.getDefaultInstance())
        .getControlPlanesList()).singleElement().satisfies(c -> {
          assertThat(c.getLeader()).isTrue();
          assertThat(c.getAddressesList()).isNotEmpty();
          assertThat(c.getLastSeen().getSeconds()).isPositive();
        });
  }

  @Test
  @DisplayName("with restart_policy ON_FAILURE a VM whose device process is killed is relaunched; with NEVER it stays FAILED")
  void restartPolicy() throws Exception {
    String image = fleet.bootImage("boot.img", "again");
    List<VmEvent> events = fleet.watch(0, null);
    Vm onFailure = fleet.create(Fleet.lsi("phoenix", image).toBuilder().setRestartPolicy(RestartPolicy.ON_FAILURE).build(),
        DesiredState.RUNNING);
    Vm never = fleet.create(Fleet.lsi("mortal", fleet.bootImage("other.img", "once")).toBuilder()
        .setRestartPolicy(RestartPolicy.NEVER).build(), DesiredState.RUNNING);
    Vm phoenix = fleet.awaitPhase(onFailure.getId(), Phase.PHASE_RUNNING, WAIT);
    Vm mortal = fleet.awaitPhase(never.getId(), Phase.PHASE_RUNNING, WAIT);

    kill(phoenix, "lsi0");
    kill(mortal, "lsi0");

    Fleet.awaitEvent(events, e -> e.getVmId().equals(phoenix.getId()) && e.getType() == EventType.RESTART_SCHEDULED, WAIT);
    Vm relaunched = fleet.awaitPhase(phoenix.getId(), Phase.PHASE_RUNNING, WAIT);
    assertThat(relaunched.getStatus().getRestarts()).isEqualTo(1);
    // GetVm may show RUNNING a moment before the stream delivers the event that says so
    Fleet.awaitEvent(events, e -> events.stream()
        .filter(x -> x.getVmId().equals(phoenix.getId()) && x.getType() == EventType.LAUNCHED).count() == 2, WAIT);
    List<EventType> phoenixEvents = events.stream().filter(e -> e.getVmId().equals(phoenix.getId())).map(VmEvent::getType).toList();
    assertThat(phoenixEvents).containsSubsequence(EventType.LAUNCHED, EventType.PROCESS_EXITED, EventType.VM_FAILED,
        EventType.RESTART_SCHEDULED, EventType.LAUNCH_STARTED, EventType.LAUNCHED);
    Vm dead = fleet.awaitPhase(mortal.getId(), Phase.PHASE_FAILED, WAIT);
    Await.sleep(2500); // past the first restart back-off
    assertThat(fleet.get(mortal.getId()).getStatus().getPhase()).isEqualTo(Phase.PHASE_FAILED);
    assertThat(dead.getStatus().getReason()).isEqualTo("DeviceProcessExited");
    assertThat(events).noneMatch(e -> e.getVmId().equals(mortal.getId()) && e.getType() == EventType.RESTART_SCHEDULED);
  }

  @Test
  @DisplayName("a VM its node lost while the event was lost is relaunched by reconciliation")
  void reconciliationRelaunches() throws Exception {
    String image = fleet.bootImage("boot.img", "back");
    Vm vm = fleet.create(Fleet.lsi("stubborn", image), DesiredState.RUNNING);
    fleet.awaitPhase(vm.getId(), Phase.PHASE_RUNNING, WAIT);
    List<VmEvent> events = fleet.watch(fleet.get(vm.getId()).getStatus().getLastEventSeq(), null);

    // behind the control plane's back: the agent forgets the VM (its events still reach the log, but
    // nothing in them asks for a relaunch: only comparing intent with the node's ListVms does)
    // as an operator would: in the epoch the node has seen (0 alone on SQLite, the leader's on PostgreSQL)
    long epoch = fleet.callAgent("node-a", NodeAgentServiceGrpcClient.GetNodeInfo,
        GetNodeInfoRequest.getDefaultInstance()).getHighestLeaderEpoch();
    fleet.callAgent("node-a", NodeAgentServiceGrpcClient.DeleteVm,
        AgentDeleteVmRequest.newBuilder().setVmId(vm.getId()).setForce(true).setLeaderEpoch(epoch).build());

    Fleet.awaitEvent(events, e -> e.getVmId().equals(vm.getId()) && e.getType() == EventType.RECONCILED
        && e.getReason().equals("Relaunched"), WAIT);
    fleet.awaitPhase(vm.getId(), Phase.PHASE_RUNNING, WAIT);
    assertThat(fleet.qemuPids()).hasSize(2);
  }

  @Test
  @DisplayName("a silent node turns NOT_READY then LOST, its VM UNKNOWN but running; back, it adopts the VM and all is RUNNING")
  void nodeLostAndBack() throws Exception {
    String image = fleet.bootImage("boot.img", "patient");
    Vm vm = fleet.create(Fleet.lsi("patient", image), DesiredState.RUNNING);
    Vm running = fleet.awaitPhase(vm.getId(), Phase.PHASE_RUNNING, WAIT);
    List<VmEvent> events = fleet.watch(running.getStatus().getLastEventSeq(), null);
    List<Long> pids = fleet.qemuPids();

    fleet.stopAgent("node-a");

    VmEvent notReady = Fleet.awaitEvent(events, e -> e.getType() == EventType.NODE_NOT_READY, WAIT);
    VmEvent lost = Fleet.awaitEvent(events, e -> e.getType() == EventType.NODE_LOST, WAIT);
    assertThat(notReady.getNode()).isEqualTo("node-a");
    assertThat(lost.getSeq()).isGreaterThan(notReady.getSeq());
    assertThat(fleet.get(vm.getId()).getStatus().getPhase()).isEqualTo(Phase.PHASE_UNKNOWN);
    assertThat(fleet.qemuPids()).as("the VM keeps running while its node is away").containsExactlyInAnyOrderElementsOf(pids);

    fleet.startAgent("node-a", Map.of("zone", "a"));

    Fleet.awaitEvent(events, e -> e.getType() == EventType.NODE_READY, WAIT);
    Fleet.awaitEvent(events, e -> e.getVmId().equals(vm.getId()) && e.getType() == EventType.ADOPTED, WAIT);
    Vm back = fleet.awaitPhase(vm.getId(), Phase.PHASE_RUNNING, WAIT);
    assertThat(back.getStatus().getProcessesList()).extracting(ProcessStatus::getPid).containsExactlyInAnyOrderElementsOf(pids);
    assertThat(fleet.qemuPids()).as("nothing was launched twice").containsExactlyInAnyOrderElementsOf(pids);
  }

  @Test
  @DisplayName("a start while a stop is still under way is FAILED_PRECONDITION; once stopped, it starts")
  void startDuringStop() throws Exception {
    String image = fleet.bootImage("boot.img", "slow to stop"); // ignores the power button
    Vm vm = fleet.create(Fleet.lsi("slow", image), DesiredState.RUNNING);
    fleet.awaitPhase(vm.getId(), Phase.PHASE_RUNNING, WAIT);

    fleet.call(VmServiceGrpcClient.StopVm, StopVmRequest.newBuilder().setVm(Fleet.ref(vm.getId())).setTimeoutSeconds(3).build());

    assertThatThrownBy(() -> fleet.call(VmServiceGrpcClient.StartVm, StartVmRequest.newBuilder()
        .setVm(Fleet.ref(vm.getId())).build())).isInstanceOfSatisfying(GrpcCallException.class, e -> {
          assertThat(e.status()).isEqualTo(GrpcStatus.FAILED_PRECONDITION);
          assertThat(e.serverMessage()).contains("is stopping");
        });
    fleet.awaitPhase(vm.getId(), Phase.PHASE_STOPPED, WAIT);
    fleet.call(VmServiceGrpcClient.StartVm, StartVmRequest.newBuilder().setVm(Fleet.ref(vm.getId())).build());
    fleet.awaitPhase(vm.getId(), Phase.PHASE_RUNNING, WAIT);
  }

  @Test
  @DisplayName("compare-and-set: UpdateVm, StartVm, StopVm and DeleteVm with a stale expected_revision are"
      + " FAILED_PRECONDITION naming the current revision and change nothing; with the current one they act")
  void compareAndSet() throws Exception {
    String image = fleet.bootImage("boot.img", "compare and set");
    Vm vm = fleet.create(Fleet.lsi("cas", image), DesiredState.STOPPED);
    assertThat(vm.getRevision()).isEqualTo(1);
    io.mpqemu.v1.VmRef ref = Fleet.ref(vm.getId());
    io.mpqemu.v1.UpdateVmRequest update = io.mpqemu.v1.UpdateVmRequest.newBuilder().setVm(ref)
        .setSpec(io.mpqemu.v1.VmSpec.newBuilder().putLabels("tier", "web"))
        .setUpdateMask(com.google.protobuf.FieldMask.newBuilder().addPaths("labels")).build();

    assertStale(() -> fleet.call(VmServiceGrpcClient.UpdateVm, update.toBuilder().setExpectedRevision(7).build()), 1, 7);
    Vm updated = fleet.call(VmServiceGrpcClient.UpdateVm, update.toBuilder().setExpectedRevision(1).build());
    assertThat(updated.getRevision()).isEqualTo(2);
    assertThat(updated.getSpec().getLabelsMap()).containsExactly(Map.entry("tier", "web"));

    assertStale(() -> fleet.call(VmServiceGrpcClient.StartVm, StartVmRequest.newBuilder().setVm(ref)
        .setExpectedRevision(1).build()), 2, 1);
    assertThat(fleet.get(vm.getId()).getDesiredState()).as("a refused start changes nothing").isEqualTo(DesiredState.STOPPED);
    fleet.call(VmServiceGrpcClient.StartVm, StartVmRequest.newBuilder().setVm(ref).setExpectedRevision(2).build());
    fleet.awaitPhase(vm.getId(), Phase.PHASE_RUNNING, WAIT);

    assertStale(() -> fleet.call(VmServiceGrpcClient.StopVm, StopVmRequest.newBuilder().setVm(ref).setTimeoutSeconds(1)
        .setExpectedRevision(2).build()), 3, 2);
    assertStale(() -> fleet.call(VmServiceGrpcClient.DeleteVm, DeleteVmRequest.newBuilder().setVm(ref)
        .setExpectedRevision(2).build()), 3, 2);
    assertThat(fleet.get(vm.getId()).getStatus().getPhase()).as("refused, the VM runs on").isEqualTo(Phase.PHASE_RUNNING);
    assertThat(fleet.qemuPids()).hasSize(2);

    fleet.call(VmServiceGrpcClient.DeleteVm, DeleteVmRequest.newBuilder().setVm(ref).setExpectedRevision(3).build());
    assertThatThrownBy(() -> fleet.get(vm.getId())).isInstanceOfSatisfying(GrpcCallException.class,
        e -> assertThat(e.status()).isEqualTo(GrpcStatus.NOT_FOUND));
    assertThat(fleet.qemuPids()).isEmpty();
    List<VmEvent> log = fleet.watch(0, vm.getId());
    Fleet.awaitEvent(log, e -> e.getType() == EventType.VM_DELETED, WAIT);
    assertThat(log).filteredOn(e -> e.getType() == EventType.SPEC_UPDATED).singleElement()
        .satisfies(e -> assertThat(e.getMessage()).isEqualTo("replaced labels; now at revision 2"));
  }

  private static void assertStale(org.assertj.core.api.ThrowableAssert.ThrowingCallable call, long current, long expected) {
    assertThatThrownBy(call).isInstanceOfSatisfying(GrpcCallException.class, e -> {
      assertThat(e.status()).isEqualTo(GrpcStatus.FAILED_PRECONDITION);
      assertThat(e.serverMessage()).contains("is at revision " + current + ", not " + expected
          + "; read it again and decide with expected_revision " + current);
    });
  }

  @Test
  @DisplayName("two CreateVm calls with one request_id at the same moment answer with the same VM")
  void concurrentRetries() throws Exception {
    CreateVmRequest request = CreateVmRequest.newBuilder().setSpec(Fleet.lsi("twice", "x.img"))
        .setDesiredState(DesiredState.STOPPED).setRequestId("retry-1").build();

    List<io.vertx.core.Future<Vm>> calls = new java.util.ArrayList<>();
    for (int i = 0; i < 4; i++) {
      calls.add(io.mpqemu.grpc.UnaryCalls.call(fleet.grpcClient(), fleet.address(), VmServiceGrpcClient.CreateVm, request,
          Duration.ofSeconds(30)));
    }

    List<String> ids = calls.stream().map(f -> Fleet.await(f).getId()).distinct().toList();
    assertThat(ids).hasSize(1);
  }

  private static void kill(Vm vm, String process) {
    long pid = vm.getStatus().getProcessesList().stream().filter(p -> p.getName().equals(process)).findFirst()
        .orElseThrow().getPid();
    ProcessHandle.of(pid).orElseThrow().destroyForcibly();
  }
}
