package io.mpqemu.dist.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import io.mpqemu.controlplane.api.LeaderForwarding;
import io.mpqemu.grpc.GrpcCallException;
import io.mpqemu.testing.Await;
import io.mpqemu.v1.CreateVmRequest;
import io.mpqemu.v1.DesiredState;
import io.mpqemu.v1.Disk;
import io.mpqemu.v1.EventType;
import io.mpqemu.v1.GetVmRequest;
import io.mpqemu.v1.Phase;
import io.mpqemu.v1.ProxiedDevice;
import io.mpqemu.v1.RestartPolicy;
import io.mpqemu.v1.StopVmRequest;
import io.mpqemu.v1.Vm;
import io.mpqemu.v1.VmEvent;
import io.mpqemu.v1.VmRef;
import io.mpqemu.v1.VmServiceGrpcClient;
import io.mpqemu.v1.VmSpec;
import io.vertx.grpc.common.GrpcStatus;
import java.time.Duration;
import java.util.List;
import java.util.stream.LongStream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * Two control planes on one PostgreSQL and two agents, each on a host (network namespace) of its own, under
 * mutual TLS with real QEMU: writes through the standby, a leader killed while VMs run, and the fencing
 * that keeps the old leader's commands out. Leases of 2 s keep it quick. The cases build on each other.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class HaClusterTest {

  private static final Duration LEASE = Duration.ofSeconds(2);
  private static final Duration RUNNING_WITHIN = Duration.ofSeconds(60);
  private HaFleet f;
  private Vm first;

  @BeforeAll
  void start() throws Exception {
    f = new HaFleet(List.of("cp-a", "cp-b"), List.of("agent-a", "agent-b"), List.of("2s", "1500ms", "500ms"));
    f.startControlPlane("cp-a");
    Await.atMost(HaFleet.READY_WITHIN).until(() -> f.leader("cp-a").map(c -> c.getId().equals("cp-a")).orElse(false),
        "cp-a to lead");
    f.startControlPlane("cp-b");
    f.startAgent("agent-a");
    f.startAgent("agent-b");
  }

  @AfterAll
  void stop() throws Exception {
    if (f != null) {
      f.close();
    }
  }

  @Test
  @Order(1)
  @DisplayName("a client writes through the standby: the leader makes the write for the client's identity, places and"
      + " launches the VM; the standby serves it and its events")
  void writesThroughTheStandby() throws Exception {
    first = f.callSync("cp-b", VmServiceGrpcClient.CreateVm, create("ha-1", DesiredState.RUNNING));
    assertThat(first.getOwner()).as("the caller's identity, not the standby's").isEqualTo("cert:admin");
    Vm running = awaitRunning("cp-b", first.getId());
    assertThat(running.getStatus().getNode()).isIn("agent-a", "agent-b");
    assertThat(f.events("cp-b", 0)).anyMatch(e -> e.getVmId().equals(first.getId()) && e.getType() == EventType.LAUNCHED);
    assertThat(f.controlPlanes.get("cp-b").log()).doesNotContain("cannot forward");
  }

  @Test
  @Order(2)
  @DisplayName("a client that sends the forwarding headers itself is not taken for a control plane: its VM is its own")
  void clientsCannotPoseAsAControlPlane() throws Exception {
    f.image("ha-forged");
    for (String cp : List.of("cp-a", "cp-b")) {
      Vm vm = Await.result(f.grpc().request(f.api(cp), VmServiceGrpcClient.CreateVm).compose(req -> {
        req.headers().set(LeaderForwarding.FORWARDED_BY, "cp-b").set(LeaderForwarding.OWNER, "cert:mallory");
        req.end(CreateVmRequest.newBuilder().setSpec(spec("ha-forged-" + cp)).setDesiredState(DesiredState.STOPPED)
            .build());
        return req.response().compose(r -> r.last());
      }), HaFleet.DEADLINE);
      assertThat(vm.getOwner()).as("created through " + cp).isEqualTo("cert:admin");
    }
  }

  @Test
  @Order(3)
  @DisplayName("kill -9 the leader: the standby leads within 3 lease lengths and dispatches a VM created through it;"
      + " the running VM keeps its processes and was launched once; the log has no gap and says who led when")
  void leaderKilled() throws Exception {
    assertThat(first).as("needs the VM of the first case").isNotNull();
    String node = get("cp-b", first.getId()).getStatus().getNode();
    List<Long> pids = f.qemuPids(node);
    assertThat(pids).isNotEmpty();

    long killedAt = System.nanoTime();
    f.controlPlanes.get("cp-a").kill9();
    f.image("ha-2");
    Vm second = Await.atMost(LEASE.multipliedBy(3).plusSeconds(10)).every(Duration.ofMillis(100)).until(() -> {
      try {
        return f.callSync("cp-b", VmServiceGrpcClient.CreateVm, create("ha-2", DesiredState.RUNNING));
      } catch (RuntimeException e) {
        assertThat(e).isInstanceOfSatisfying(GrpcCallException.class,
            g -> assertThat(g.status()).as(g.getMessage()).isEqualTo(GrpcStatus.UNAVAILABLE));
        return null;
      }
    }, v -> v != null, v -> "no leader took the create");
    Duration accepted = Duration.ofNanos(System.nanoTime() - killedAt);
    assertThat(accepted).as("kill -9 to a create accepted by the new leader").isLessThan(LEASE.multipliedBy(3));
    awaitRunning("cp-b", second.getId());

    assertThat(f.qemuPids(node)).containsExactlyInAnyOrderElementsOf(pids);
    List<VmEvent> log = f.events("cp-b", 0);
    assertThat(log).filteredOn(e -> e.getVmId().equals(first.getId()) && e.getType() == EventType.LAUNCHED).hasSize(1);
    assertThat(log).extracting(VmEvent::getSeq).containsExactlyElementsOf(
        LongStream.rangeClosed(1, log.size()).boxed().toList());
    assertThat(log).filteredOn(e -> e.getType() == EventType.LEADER_ELECTED).extracting(VmEvent::getLeaderEpoch)
        .containsExactly(1L, 2L);
    assertThat(log).filteredOn(e -> e.getType() == EventType.LEADER_LOST).extracting(VmEvent::getLeaderEpoch)
        .containsExactly(1L);
  }

  @Test
  @Order(4)
  @DisplayName("the old leader, back, is a standby that forwards writes to the new one; a command it held back in"
      + " its epoch is refused by the agent (fencing) and changes nothing")
  void oldLeaderIsFencedOff() throws Exception {
    Vm second = f.callSync("cp-b", VmServiceGrpcClient.GetVm, GetVmRequest.newBuilder()
        .setVm(VmRef.newBuilder().setName("ha-2")).build());
    f.controlPlanes.put("cp-a", f.controlPlanes.get("cp-a").restart("control plane ready", HaFleet.READY_WITHIN));
    Await.atMost(Duration.ofSeconds(30)).until(() -> f.leader("cp-a").map(c -> c.getId().equals("cp-b")).orElse(false),
        "cp-a to see cp-b lead");

    // the stop cp-a would have sent in its term, held back until now: ha-2's node has seen epoch 2
    String node = second.getStatus().getNode();
    List<Long> pids = f.qemuPids(node);
    assertThat(f.heldBackStop("cp-a", node, second.getId(), 1)).isInstanceOfSatisfying(GrpcCallException.class, e -> {
      assertThat(e.status()).isEqualTo(GrpcStatus.FAILED_PRECONDITION);
      assertThat(e.serverMessage()).contains("leader epoch 1 is older than epoch 2");
    });
    assertThat(f.qemuPids(node)).containsExactlyInAnyOrderElementsOf(pids);
    assertThat(get("cp-b", second.getId()).getStatus().getPhase()).isEqualTo(Phase.PHASE_RUNNING);

    // a stop sent to cp-a now is forwarded to cp-b, which stops the VM
    f.callSync("cp-a", VmServiceGrpcClient.StopVm, StopVmRequest.newBuilder()
        .setVm(VmRef.newBuilder().setId(second.getId())).setForce(true).build());
    Await.atMost(RUNNING_WITHIN).every(Duration.ofMillis(200)).until(() -> get("cp-a", second.getId()),
        v -> v.getStatus().getPhase() == Phase.PHASE_STOPPED, v -> "ha-2 is " + v.getStatus());
  }

  private CreateVmRequest create(String name, DesiredState desired) throws Exception {
    f.image(name);
    return CreateVmRequest.newBuilder().setSpec(spec(name)).setDesiredState(desired).build();
  }

  private static VmSpec spec(String name) {
    return VmSpec.newBuilder().setName(name).setMemoryMib(64).setRestartPolicy(RestartPolicy.NEVER)
        .addDevices(ProxiedDevice.newBuilder().setId("lsi0").setDriver("lsi53c895a")
            .addDisks(Disk.newBuilder().setId("boot").setImage(name.startsWith("ha-forged") ? "ha-forged.img"
                : name + ".img")))
        .build();
  }

  private Vm get(String cp, String id) {
    return f.callSync(cp, VmServiceGrpcClient.GetVm, GetVmRequest.newBuilder().setVm(VmRef.newBuilder().setId(id)).build());
  }

  private Vm awaitRunning(String cp, String id) {
    return Await.atMost(RUNNING_WITHIN).every(Duration.ofMillis(200)).until(() -> get(cp, id),
        v -> v.getStatus().getPhase() == Phase.PHASE_RUNNING, v -> "VM " + id + " is " + v.getStatus());
  }
}
