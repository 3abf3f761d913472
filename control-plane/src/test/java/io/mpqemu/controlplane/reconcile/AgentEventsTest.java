package io.mpqemu.controlplane.reconcile;

import static org.assertj.core.api.Assertions.assertThat;

import io.mpqemu.controlplane.ControlPlaneCore;
import io.mpqemu.controlplane.dispatch.AgentClients;
import io.mpqemu.controlplane.dispatch.NodeAgents;
import io.mpqemu.controlplane.leadership.Leadership;
import io.mpqemu.controlplane.store.Change;
import io.mpqemu.controlplane.store.StoreExecutor;
import io.mpqemu.controlplane.store.StoredVm;
import io.mpqemu.controlplane.vm.DroppedEvent;
import io.mpqemu.testing.Await;
import io.mpqemu.testing.ManualTime;
import io.mpqemu.v1.AgentDeleteVmRequest;
import io.mpqemu.v1.AgentDeleteVmResponse;
import io.mpqemu.v1.AgentStopVmRequest;
import io.mpqemu.v1.AgentVm;
import io.mpqemu.v1.Capacity;
import io.mpqemu.v1.DesiredState;
import io.mpqemu.v1.Disk;
import io.mpqemu.v1.EventType;
import io.mpqemu.v1.LaunchVmRequest;
import io.mpqemu.v1.ListAgentVmsRequest;
import io.mpqemu.v1.ListAgentVmsResponse;
import io.mpqemu.v1.NodeAgentServiceGrpcService;
import io.mpqemu.v1.NodeHeartbeat;
import io.mpqemu.v1.NodeInfo;
import io.mpqemu.v1.Phase;
import io.mpqemu.v1.ProxiedDevice;
import io.mpqemu.v1.RestartPolicy;
import io.mpqemu.v1.VmEvent;
import io.mpqemu.v1.VmRef;
import io.mpqemu.v1.VmSpec;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.grpc.server.GrpcServer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Supplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Nodes speak only for themselves: the reconciler applies an agent's event only when the VM is placed
 * on the sending node or is being launched there, and stores nothing for VM ids it does not know. A
 * real reconciler on a real store, with two fake agents (gRPC on loopback) and a clock the test moves.
 */
class AgentEventsTest {

  private static final Duration WAIT = Duration.ofSeconds(20);

  @TempDir
  Path dir;

  private CoreHarness h;
  private ControlPlaneCore core;
  private StoreExecutor store;
  private final ManualTime clock = new ManualTime();
  private FakeAgent a;
  private FakeAgent b;

  @BeforeEach
  void start() throws Exception {
    h = new CoreHarness(dir, vertx -> new NodeAgents(new AgentClients(vertx, Duration.ofSeconds(60)), Leadership.SOLE), clock);
    core = h.core();
    store = h.store();
    a = FakeAgent.start(h.vertx(), "node-a");
    b = FakeAgent.start(h.vertx(), "node-b");
  }

  @AfterEach
  void stop() {
    h.close();
  }

  // ------------------------------------------------------------------ the cases

  @Test
  @DisplayName("an event of node-a about a VM running on node-b is dropped: the VM stays RUNNING on node-b, no row is stored")
  void eventFromAnotherNodeIsDropped() {
    ready(a);
    ready(b);
    String id = create("web", "b", DesiredState.RUNNING).id();
    StoredVm running = awaitVm(id, vm -> vm.status().getPhase() == Phase.PHASE_RUNNING, "RUNNING");
    assertThat(running.status().getNode()).isEqualTo("node-b");
    List<VmEvent> logBefore = events();

    Optional<DroppedEvent> dropped = onLoop(() -> core.reconciler().onAgentEvent(event(id, "node-a", EventType.VM_STOPPED,
        Phase.PHASE_STOPPED)));

    assertThat(dropped).hasValueSatisfying(d -> {
      assertThat(d.reason()).isEqualTo(DroppedEvent.Reason.OTHER_NODES_VM);
      assertThat(d.reason().label()).isEqualTo("other_nodes_vm");
      assertThat(d.node()).isEqualTo("node-a");
      assertThat(d.message()).isEqualTo("a VM_STOPPED event of node node-a about VM " + id
          + " ('web'), which is placed on node node-b; a node speaks only for its own VMs");
    });
    StoredVm after = vm(id);
    assertThat(after.status().getNode()).isEqualTo("node-b");
    assertThat(after.status().getPhase()).isEqualTo(Phase.PHASE_RUNNING);
    assertThat(after.status()).isEqualTo(running.status());
    assertThat(after.revision()).isEqualTo(running.revision());
    assertThat(events()).as("the event log").isEqualTo(logBefore).noneMatch(e -> e.getReason().equals("Forged"));

    // node-b's own event about it is applied as always
    assertThat(onLoop(() -> core.reconciler().onAgentEvent(event(id, "node-b", EventType.VM_STOPPED, Phase.PHASE_STOPPED)))).isEmpty();
    assertThat(vm(id).status().getPhase()).isEqualTo(Phase.PHASE_STOPPED);
    assertThat(events()).anyMatch(e -> e.getVmId().equals(id) && e.getNode().equals("node-b") && e.getReason().equals("Forged"));
  }

  @Test
  @DisplayName("an event naming no node, and one about a VM placed on no node, is dropped")
  void eventWithoutItsNodeIsDropped() {
    ready(a);
    String id = create("idle", "a", DesiredState.STOPPED).id();
    List<VmEvent> logBefore = events();
    assertThat(onLoop(() -> core.reconciler().onAgentEvent(event(id, "node-a", EventType.LAUNCHED, Phase.PHASE_RUNNING))))
        .hasValueSatisfying(d -> assertThat(d.message()).contains("which is placed on no node"));
    assertThat(onLoop(() -> core.reconciler().onAgentEvent(event(id, "", EventType.LAUNCHED, Phase.PHASE_RUNNING))))
        .hasValueSatisfying(d -> assertThat(d.message()).startsWith("a LAUNCHED event naming no node about VM " + id));
    assertThat(vm(id).status().getPhase()).isEqualTo(Phase.PHASE_STOPPED);
    assertThat(events()).isEqualTo(logBefore);
  }

  @Test
  @DisplayName("an event about a VM id the store does not know (never created, or deleted) stores nothing")
  void eventAboutAnUnknownVmStoresNothing() {
    ready(a);
    String deleted = create("gone", "a", DesiredState.STOPPED).id();
    on(() -> core.intents().delete(VmRef.newBuilder().setId(deleted).build(), 0));
    List<VmEvent> logBefore = events();
    int count = onLoop(() -> core.records().count());

    for (String id : List.of("00000000-0000-4000-8000-00000000beef", deleted)) {
      Optional<DroppedEvent> dropped = onLoop(() -> core.reconciler().onAgentEvent(event(id, "node-a", EventType.VM_STOPPED,
          Phase.PHASE_STOPPED)));
      assertThat(dropped).hasValueSatisfying(d -> {
        assertThat(d.reason()).isEqualTo(DroppedEvent.Reason.UNKNOWN_VM);
        assertThat(d.reason().label()).isEqualTo("unknown_vm");
        assertThat(d.message()).startsWith("a VM_STOPPED event of node node-a about VM '" + id
            + "', which the control plane does not know");
      });
    }
    assertThat(events()).as("no row for either").isEqualTo(logBefore);
    assertThat(onLoop(() -> core.records().count())).isEqualTo(count);
  }

  @Test
  @DisplayName("the node a VM was just deleted from may still report its end (a row, no VM); another node may not, nor may it a minute later")
  void lastWordOfADeletedVm() {
    ready(a);
    ready(b);
    String id = create("short", "a", DesiredState.RUNNING).id();
    awaitVm(id, vm -> vm.status().getPhase() == Phase.PHASE_RUNNING, "RUNNING");
    on(() -> core.intents().delete(VmRef.newBuilder().setId(id).build(), 0));
    assertThat(a.deleted).contains(id);
    int count = onLoop(() -> core.records().count());

    assertThat(onLoop(() -> core.reconciler().onAgentEvent(event(id, "node-b", EventType.VM_DELETED, Phase.PHASE_DELETED))))
        .hasValueSatisfying(d -> assertThat(d.reason()).isEqualTo(DroppedEvent.Reason.UNKNOWN_VM));
    assertThat(onLoop(() -> core.reconciler().onAgentEvent(event(id, "node-a", EventType.VM_DELETED, Phase.PHASE_DELETED)))).isEmpty();
    assertThat(events()).filteredOn(e -> e.getVmId().equals(id) && e.getReason().equals("Forged"))
        .singleElement().satisfies(e -> assertThat(e.getNode()).isEqualTo("node-a"));
    assertThat(onLoop(() -> core.records().count())).as("no VM comes back").isEqualTo(count);

    clock.advance(Duration.ofSeconds(61));
    List<VmEvent> logBefore = events();
    assertThat(onLoop(() -> core.reconciler().onAgentEvent(event(id, "node-a", EventType.VM_DELETED, Phase.PHASE_DELETED))))
        .hasValueSatisfying(d -> assertThat(d.reason()).isEqualTo(DroppedEvent.Reason.UNKNOWN_VM));
    assertThat(events()).isEqualTo(logBefore);
  }

  @Test
  @DisplayName("while the control plane launches a VM on node-b, node-b's events about it are applied, even once node-b was lost and the VM unplaced; node-a's are not")
  void eventsDuringALaunchOnThatNode() {
    ready(a);
    ready(b);
    b.holdLaunches = true;
    String id = create("slow", "b", DesiredState.RUNNING).id();
    Await.atMost(WAIT).until(() -> b.held.size() == 1, "the launch to reach node-b");
    assertThat(vm(id).status().getPhase()).isEqualTo(Phase.PHASE_SCHEDULED);

    // node-b goes silent (its launch call still open): the VM, never launched as far as the store
    // knows, goes back to PENDING, placed nowhere; node-a stays READY
    clock.advance(Duration.ofSeconds(6));
    ready(a);
    onLoop(() -> {
      core.liveness().check();
      return null;
    });
    StoredVm unplaced = vm(id);
    assertThat(unplaced.status().getPhase()).isEqualTo(Phase.PHASE_PENDING);
    assertThat(unplaced.status().getNode()).isEmpty();

    List<VmEvent> logBefore = events();
    assertThat(onLoop(() -> core.reconciler().onAgentEvent(event(id, "node-a", EventType.LAUNCH_STARTED, Phase.PHASE_LAUNCHING))))
        .hasValueSatisfying(d -> assertThat(d.message()).contains("which is placed on no node and being launched on node node-b"));
    assertThat(events()).isEqualTo(logBefore);

    assertThat(onLoop(() -> core.reconciler().onAgentEvent(event(id, "node-b", EventType.LAUNCH_STARTED, Phase.PHASE_LAUNCHING))))
        .as("node-b launches it").isEmpty();
    StoredVm launching = vm(id);
    assertThat(launching.status().getPhase()).isEqualTo(Phase.PHASE_LAUNCHING);
    assertThat(launching.status().getNode()).isEqualTo("node-b");
    assertThat(events()).anyMatch(e -> e.getVmId().equals(id) && e.getType() == EventType.LAUNCH_STARTED
        && e.getNode().equals("node-b"));

    // the launch answers: RUNNING on node-b
    b.releaseLaunches();
    awaitVm(id, vm -> vm.status().getPhase() == Phase.PHASE_RUNNING && vm.status().getNode().equals("node-b"), "RUNNING on node-b");
  }

  @Test
  @DisplayName("reconciliation still stops and removes a VM the store does not know from the node that runs it, and that node's events about it store nothing")
  void orphansAreStillRemoved() {
    String orphan = "00000000-0000-4000-8000-0000000000aa";
    a.running.put(orphan, AgentVm.newBuilder().setVmId(orphan).setSpec(spec("stray", "a")).setPhase(Phase.PHASE_RUNNING).build());
    assertThat(onLoop(() -> core.reconciler().onAgentEvent(event(orphan, "node-a", EventType.PROCESS_STARTED, Phase.PHASE_RUNNING))))
        .hasValueSatisfying(d -> assertThat(d.reason()).isEqualTo(DroppedEvent.Reason.UNKNOWN_VM));

    ready(a); // READY: reconciled at once

    Await.atMost(WAIT).until(() -> a.deleted.contains(orphan), "node-a to be told to delete the orphan");
    List<VmEvent> log = Await.atMost(WAIT).until(this::events, l -> l.stream().anyMatch(e -> e.getVmId().equals(orphan)),
        l -> "no OrphanRemoved event: " + l);
    assertThat(log).filteredOn(e -> e.getVmId().equals(orphan)).singleElement().satisfies(e -> {
      assertThat(e.getReason()).isEqualTo("OrphanRemoved");
      assertThat(e.getType()).isEqualTo(EventType.RECONCILED);
      assertThat(e.getNode()).isEqualTo("node-a");
    });
  }

  // ------------------------------------------------------------------ helpers

  private void ready(FakeAgent agent) {
    onLoop(() -> {
      core.liveness().onHeartbeat(NodeHeartbeat.newBuilder().setNodeId(agent.nodeId).setEndpoint(agent.endpoint)
          .setInfo(NodeInfo.newBuilder().setNodeId(agent.nodeId).setMultiprocessSupported(true).addAllowedDrivers("lsi53c895a")
              .putLabels("zone", agent.nodeId.substring("node-".length()))
              .setCapacity(Capacity.newBuilder().setMemoryMib(4096).setMaxVms(8).setMaxMemoryMibPerVm(4096)
                  .setMaxDevicesPerVm(4).setMaxDisksPerDevice(4).setMaxVcpusPerVm(8)))
          .build());
      return null;
    });
  }

  private static VmSpec spec(String name, String zone) {
    return VmSpec.newBuilder().setName(name).setMemoryMib(64).setRestartPolicy(RestartPolicy.NEVER).putNodeSelector("zone", zone)
        .addDevices(ProxiedDevice.newBuilder().setId("lsi0").setDriver("lsi53c895a")
            .addDisks(Disk.newBuilder().setId("boot").setImage(name + ".img")))
        .build();
  }

  private StoredVm create(String name, String zone, DesiredState desired) {
    return on(() -> core.intents().create(spec(name, zone), desired, "", ""));
  }

  private StoredVm vm(String id) {
    return onLoop(() -> core.records().get(id).orElseThrow());
  }

  /** Waits for the VM to match, then for the commits under way (its last event seq among them), and reads it again. */
  private StoredVm awaitVm(String id, java.util.function.Predicate<StoredVm> match, String what) {
    Await.atMost(WAIT).until(() -> vm(id), match, vm -> "VM " + id + " is not " + what + ": " + vm.status());
    on(() -> store.commit(Change.builder().build()));
    return vm(id);
  }

  /** Every event in the store now: read on the store's one thread, after every commit asked for before. */
  private List<VmEvent> events() {
    return on(() -> store.call(st -> st.events(0, "", 100_000)));
  }

  private static VmEvent event(String vmId, String node, EventType type, Phase phase) {
    return VmEvent.newBuilder().setVmId(vmId).setVmName("whatever").setNode(node).setType(type).setPhase(phase)
        .setReason("Forged").setMessage("from node " + node).build();
  }

  private <T> T on(Supplier<Future<T>> work) {
    return h.on(work);
  }

  private <T> T onLoop(Supplier<T> work) {
    return h.on(() -> Future.succeededFuture(work.get()));
  }

  /** An agent's gRPC API on loopback: launches (answered at once, or held), lists, stops and deletes in memory. */
  static final class FakeAgent extends NodeAgentServiceGrpcService {
    final String nodeId;
    String endpoint;
    final Map<String, AgentVm> running = new ConcurrentHashMap<>();
    final List<String> deleted = new CopyOnWriteArrayList<>();
    final List<Map.Entry<AgentVm, Promise<AgentVm>>> held = new CopyOnWriteArrayList<>();
    volatile boolean holdLaunches;

    private FakeAgent(String nodeId) {
      this.nodeId = nodeId;
    }

    static FakeAgent start(Vertx vertx, String nodeId) {
      FakeAgent agent = new FakeAgent(nodeId);
      GrpcServer grpc = GrpcServer.server(vertx);
      grpc.addService(agent);
      int port = Await.result(vertx.createHttpServer().requestHandler(grpc).listen(0, "127.0.0.1"), WAIT).actualPort();
      agent.endpoint = "tcp:127.0.0.1:" + port;
      return agent;
    }

    void releaseLaunches() {
      for (Map.Entry<AgentVm, Promise<AgentVm>> h : held) {
        running.put(h.getKey().getVmId(), h.getKey());
        h.getValue().complete(h.getKey());
      }
      held.clear();
    }

    @Override
    public Future<AgentVm> launchVm(LaunchVmRequest request) {
      AgentVm vm = AgentVm.newBuilder().setVmId(request.getVmId()).setSpec(request.getSpec()).setPhase(Phase.PHASE_RUNNING)
          .setReason("Launched").build();
      if (holdLaunches) {
        Promise<AgentVm> answer = Promise.promise();
        held.add(Map.entry(vm, answer));
        return answer.future();
      }
      running.put(vm.getVmId(), vm);
      return Future.succeededFuture(vm);
    }

    @Override
    public Future<ListAgentVmsResponse> listVms(ListAgentVmsRequest request) {
      return Future.succeededFuture(ListAgentVmsResponse.newBuilder().addAllVms(running.values()).build());
    }

    @Override
    public Future<AgentVm> stopVm(AgentStopVmRequest request) {
      AgentVm vm = running.get(request.getVmId());
      if (vm == null) {
        return Future.failedFuture(new io.vertx.grpc.server.StatusException(io.vertx.grpc.common.GrpcStatus.NOT_FOUND, "no such VM"));
      }
      AgentVm stopped = vm.toBuilder().setPhase(Phase.PHASE_STOPPED).build();
      running.put(vm.getVmId(), stopped);
      return Future.succeededFuture(stopped);
    }

    @Override
    public Future<AgentDeleteVmResponse> deleteVm(AgentDeleteVmRequest request) {
      running.remove(request.getVmId());
      deleted.add(request.getVmId());
      return Future.succeededFuture(AgentDeleteVmResponse.getDefaultInstance());
    }
  }
}
