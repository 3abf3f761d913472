package io.mpqemu.dist.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import io.mpqemu.grpc.GrpcCallException;
import io.mpqemu.testing.Await;
import io.mpqemu.v1.CreateVmRequest;
import io.mpqemu.v1.DeleteVmRequest;
import io.mpqemu.v1.DesiredState;
import io.mpqemu.v1.Disk;
import io.mpqemu.v1.EventType;
import io.mpqemu.v1.GetVmRequest;
import io.mpqemu.v1.ListVmsRequest;
import io.mpqemu.v1.Phase;
import io.mpqemu.v1.ProxiedDevice;
import io.mpqemu.v1.RestartPolicy;
import io.mpqemu.v1.Vm;
import io.mpqemu.v1.VmEvent;
import io.mpqemu.v1.VmRef;
import io.mpqemu.v1.VmServiceGrpcClient;
import io.mpqemu.v1.VmSpec;
import io.vertx.grpc.common.GrpcStatus;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.stream.LongStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/**
 * The long fault runs of the highly available control plane (Maven profile {@code faults}, which the
 * README's test command and CI run): two control planes on one PostgreSQL, two agents, real QEMU, a
 * client creating and starting VMs (and deleting the oldest) all along, under mutual TLS. After each run
 * every acknowledged intent is there, every VM that should run runs once, and the event log is gap-free.
 */
class HaFaults {

  private static final int KILLS = Integer.getInteger("faults.kills", 20);
  private static final Duration LEASE = Duration.ofSeconds(2);
  private static final Duration CONVERGED_WITHIN = Duration.ofSeconds(120);
  /** VMs kept alive at once by the load: the oldest is deleted beyond it. */
  private static final int LIVE = 6;
  private static final Set<EventType> ENDS = Set.of(EventType.VM_STOPPED, EventType.VM_FAILED,
      EventType.LOST_WHILE_DETACHED, EventType.VM_DELETED, EventType.LAUNCH_FAILED);

  private HaFleet f;
  private Load load;
  /** Control planes stopped by SIGSTOP: the test's own polls and the load's client pass them by, not wait on them. */
  private final Set<String> paused = java.util.concurrent.ConcurrentHashMap.newKeySet();

  @AfterEach
  void stop() throws Exception {
    if (load != null) {
      load.stop();
    }
    if (f != null) {
      f.close();
    }
  }

  @Test
  @DisplayName("kill -9 the leader 20 times during a create-and-start load: a standby leads each time within 3 lease"
      + " lengths, no acknowledged intent is lost, no VM is launched twice without a stop between, the log is gap-free")
  void killTheLeaderUnderLoad() throws Exception {
    start();
    load = new Load(f, paused);
    load.start();
    for (int k = 0; k < KILLS; k++) {
      String leader = awaitLeader(null);
      String other = leader.equals("cp-a") ? "cp-b" : "cp-a";
      Await.atMost(HaFleet.READY_WITHIN).until(() -> f.leader(other).map(c -> c.getId().equals(leader)).orElse(false),
          other + " to stand by");
      int ackedBefore = load.acked();
      long killed = System.nanoTime();
      f.controlPlanes.get(leader).kill9();
      String next = awaitLeader(leader);
      Duration takeover = Duration.ofNanos(System.nanoTime() - killed);
      assertThat(next).isEqualTo(other);
      assertThat(takeover).as("kill %d: kill -9 of %s to %s leading", k + 1, leader, other)
          .isLessThan(LEASE.multipliedBy(3));
      Await.atMost(Duration.ofSeconds(30)).until(() -> load.acked() > ackedBefore, "the load to go on after kill " + (k + 1));
      f.controlPlanes.put(leader, f.controlPlanes.get(leader).restart("control plane ready", HaFleet.READY_WITHIN));
    }
    load.stop();
    checkOutcome();
  }

  @Test
  @DisplayName("PostgreSQL restarted under load: every control plane answers UNAVAILABLE meanwhile, no VM is stopped,"
      + " and a control plane leads again afterwards; nothing acknowledged is lost, the log is gap-free")
  void restartPostgresUnderLoad() throws Exception {
    start();
    load = new Load(f, paused);
    load.start();
    Await.atMost(Duration.ofSeconds(60)).until(() -> load.acked() >= LIVE, "the load to have VMs running");
    Map<String, List<Long>> pids = new HashMap<>();
    for (String node : f.agents.keySet()) {
      pids.put(node, f.qemuPids(node));
    }
    f.postgres.stop();
    try {
      for (String cp : f.controlPlanes.keySet()) {
        Throwable refused = Await.failure(f.call(cp, VmServiceGrpcClient.CreateVm, create("during-outage-" + cp)));
        assertThat(refused).as(cp).isInstanceOfSatisfying(GrpcCallException.class,
            e -> assertThat(e.status()).as(e.getMessage()).isEqualTo(GrpcStatus.UNAVAILABLE));
      }
      Await.sleep(LEASE.multipliedBy(2).toMillis()); // past every lease: no control plane leads now
      for (String node : f.agents.keySet()) {
        assertThat(f.qemuPids(node)).as("QEMU processes on " + node + " during the outage")
            .containsAll(pids.get(node));
      }
    } finally {
      f.postgres.start();
    }
    awaitLeader(null);
    int ackedBefore = load.acked();
    Await.atMost(Duration.ofSeconds(60)).until(() -> load.acked() > ackedBefore, "creates to be taken again");
    load.stop();
    checkOutcome();
  }

  @Test
  @DisplayName("the leader cut from PostgreSQL (a proxy that stops forwarding) under load: it stops leading, the"
      + " standby takes over; healed, the old leader is a standby, and a command it held back is refused by the agent")
  void cutTheLeaderFromPostgres() throws Exception {
    start();
    load = new Load(f, paused);
    load.start();
    String leader = awaitLeader(null);
    long epoch = f.leader(leader).orElseThrow().getLeaderEpoch();
    String other = leader.equals("cp-a") ? "cp-b" : "cp-a";
    f.storeLinks.get(leader).blackhole();
    try {
      f.controlPlanes.get(leader).awaitLog("steps down from epoch " + epoch, LEASE.multipliedBy(2));
      assertThat(awaitLeader(leader)).isEqualTo(other);
      int ackedBefore = load.acked();
      Await.atMost(Duration.ofSeconds(60)).until(() -> load.acked() > ackedBefore + 1, "creates under the new leader");
    } finally {
      f.storeLinks.get(leader).heal();
    }
    oldLeaderStandsByFenced(leader, other, epoch, "healed");
  }

  @Test
  @DisplayName("the leader paused (SIGSTOP) past its lease under load: the standby takes over; resumed, the old leader"
      + " steps down and stands by, and a command it held back is refused by the agent; nothing acknowledged is lost,"
      + " nothing launched twice, the log is gap-free")
  void pauseTheLeaderPastItsLease() throws Exception {
    start();
    load = new Load(f, paused);
    load.start();
    Await.atMost(Duration.ofSeconds(60)).until(() -> load.acked() >= 2, "the load to have VMs");
    String leader = awaitLeader(null);
    long epoch = f.leader(leader).orElseThrow().getLeaderEpoch();
    String other = leader.equals("cp-a") ? "cp-b" : "cp-a";
    Await.atMost(HaFleet.READY_WITHIN).until(() -> f.leader(other).map(c -> c.getId().equals(leader)).orElse(false),
        other + " to stand by");
    paused.add(leader);
    f.controlPlanes.get(leader).pause();
    try {
      assertThat(awaitLeader(leader)).isEqualTo(other);
      int ackedBefore = load.acked();
      Await.atMost(Duration.ofSeconds(60)).until(() -> load.acked() > ackedBefore + 1, "creates under the new leader");
    } finally {
      f.controlPlanes.get(leader).resume();
      paused.remove(leader);
    }
    f.controlPlanes.get(leader).awaitLog("steps down from epoch " + epoch, Duration.ofSeconds(30));
    oldLeaderStandsByFenced(leader, other, epoch, "resumed");
  }

  /**
   * The old leader, back, sees the other lead; once the load stops, a stop it might have held back from its
   * epoch is refused by the node of a VM the new leader launched (that node has seen the new epoch); then the
   * outcome of the whole run is checked.
   */
  private void oldLeaderStandsByFenced(String leader, String other, long epoch, String back) throws Exception {
    Await.atMost(Duration.ofSeconds(60)).until(() -> f.leader(leader).map(c -> c.getId().equals(other)).orElse(false),
        leader + ", " + back + ", to see " + other + " lead");
    load.stop();
    String vmId = load.live().get(load.live().size() - 1);
    Vm vm = Await.atMost(Duration.ofSeconds(60)).every(Duration.ofMillis(200)).until(() -> get(other, vmId),
        v -> v != null && v.getStatus().getPhase() == Phase.PHASE_RUNNING, v -> "the last VM is " + v);
    Throwable refused = f.heldBackStop(leader, vm.getStatus().getNode(), vmId, epoch);
    assertThat(refused).isInstanceOfSatisfying(GrpcCallException.class, e -> {
      assertThat(e.status()).isEqualTo(GrpcStatus.FAILED_PRECONDITION);
      assertThat(e.serverMessage()).contains("leader epoch " + epoch + " is older than epoch " + (epoch + 1));
    });
    checkOutcome();
  }

  private void start() throws Exception {
    f = new HaFleet(List.of("cp-a", "cp-b"), List.of("agent-a", "agent-b"), List.of("2s", "1500ms", "500ms"));
    f.image("load");
    f.startControlPlane("cp-a");
    awaitLeader(null);
    f.startControlPlane("cp-b");
    f.startAgent("agent-a");
    f.startAgent("agent-b");
  }

  /** The control plane that leads (not {@code not}), as the other sees it. */
  private String awaitLeader(String not) {
    return Await.atMost(LEASE.multipliedBy(3).plusSeconds(30)).every(Duration.ofMillis(50)).until(() -> {
      for (String cp : f.controlPlanes.keySet()) {
        if (cp.equals(not) || !f.controlPlanes.get(cp).alive() || paused.contains(cp)) {
          continue;
        }
        try {
          String id = f.leader(cp).map(c -> c.getId()).orElse(null);
          if (id != null && !id.equals(not)) {
            return id;
          }
        } catch (RuntimeException e) {
          // the database is not back yet, or this one is starting
        }
      }
      return null;
    }, id -> id != null, id -> "no control plane leads");
  }

  /** Every acknowledged VM not deleted is there and RUNNING, once; the deleted ones are gone; the log has no gap. */
  private void checkOutcome() {
    String via = awaitLeader(null);
    for (String id : load.live()) {
      Await.atMost(CONVERGED_WITHIN).every(Duration.ofMillis(500)).until(() -> get(via, id),
          v -> v != null && v.getStatus().getPhase() == Phase.PHASE_RUNNING, v -> "acknowledged VM " + id + " is "
              + (v == null ? "missing" : v.getStatus()));
    }
    for (String id : load.deleted()) {
      assertThat(get(via, id)).as("deleted VM " + id).isNull();
    }
    List<Vm> listed = f.callSync(via, VmServiceGrpcClient.ListVms, ListVmsRequest.newBuilder().setPageSize(1000).build())
        .getVmsList();
    assertThat(listed).extracting(Vm::getId).as("the VMs the store holds: the acknowledged ones not deleted")
        .containsExactlyInAnyOrderElementsOf(load.live());

    List<VmEvent> log = f.events(via, 0);
    assertThat(log).extracting(VmEvent::getSeq).as("every seq once, in order")
        .containsExactlyElementsOf(LongStream.rangeClosed(1, log.size()).boxed().toList());
    Map<String, Boolean> launched = new HashMap<>();
    List<String> twice = new ArrayList<>();
    for (VmEvent e : log) {
      if (e.getType() == EventType.LAUNCHED && launched.put(e.getVmId(), true) == Boolean.TRUE) {
        twice.add(e.getVmId() + " at seq " + e.getSeq());
      } else if (ENDS.contains(e.getType())) {
        launched.put(e.getVmId(), false);
      }
    }
    assertThat(twice).as("VMs LAUNCHED again without a stop between").isEmpty();
    long processes = f.agents.keySet().stream().mapToLong(n -> f.qemuPids(n).size()).sum();
    assertThat(processes).as("QEMU processes: a main QEMU and one device process per running VM, nothing else")
        .isEqualTo(2L * load.live().size());
    System.out.printf("HaFaults: %d VMs acknowledged (%d deleted), %d events, no gap, none launched twice%n",
        load.acked(), load.deleted().size(), log.size());
  }

  private Vm get(String via, String id) {
    try {
      return f.callSync(via, VmServiceGrpcClient.GetVm, GetVmRequest.newBuilder().setVm(VmRef.newBuilder().setId(id)).build());
    } catch (GrpcCallException e) {
      if (e.status() == GrpcStatus.NOT_FOUND) {
        return null;
      }
      throw e;
    }
  }

  private static CreateVmRequest create(String name) {
    return CreateVmRequest.newBuilder().setSpec(spec(name)).setDesiredState(DesiredState.RUNNING).setRequestId(name)
        .build();
  }

  private static VmSpec spec(String name) {
    return VmSpec.newBuilder().setName(name).setMemoryMib(64).setRestartPolicy(RestartPolicy.NEVER)
        .addDevices(ProxiedDevice.newBuilder().setId("lsi0").setDriver("lsi53c895a")
            .addDisks(Disk.newBuilder().setId("boot").setImage("load.img").setReadOnly(true)))
        .build();
  }

  /**
   * A client that creates and starts a VM every half second, through one control plane or the other in turn, and
   * deletes the oldest beyond {@link #LIVE}. A call refused UNAVAILABLE, or whose answer was lost, is sent
   * again (a create with its request id, so never twice) until a control plane answers it.
   */
  private static final class Load {
    private final HaFleet f;
    private final Set<String> paused;
    private final AtomicBoolean running = new AtomicBoolean(true);
    private final ArrayDeque<String> live = new ArrayDeque<>();
    private final Set<String> deleted = new HashSet<>();
    private final Map<String, String> names = new LinkedHashMap<>();
    private final java.util.concurrent.atomic.AtomicReference<Throwable> failed =
        new java.util.concurrent.atomic.AtomicReference<>();
    private Thread thread;
    private int n;

    Load(HaFleet f, Set<String> paused) {
      this.f = f;
      this.paused = paused;
    }

    void start() {
      thread = new Thread(() -> {
        try {
          run();
        } catch (Throwable e) {
          failed.set(e);
        }
      }, "ha-load");
      thread.start();
    }

    void stop() throws InterruptedException {
      running.set(false);
      if (thread != null) {
        thread.join(Duration.ofSeconds(120).toMillis());
        assertThat(thread.isAlive()).as("the load finished its last call").isFalse();
      }
      assertThat(failed.get()).as("a call of the load answered other than OK or UNAVAILABLE").isNull();
    }

    synchronized int acked() {
      return live.size() + deleted.size();
    }

    synchronized List<String> live() {
      return List.copyOf(live);
    }

    synchronized Set<String> deleted() {
      return Set.copyOf(deleted);
    }

    private void run() {
      while (running.get()) {
        String name = "load-" + (++n);
        Vm vm = untilAnswered(cp -> f.callSync(cp, VmServiceGrpcClient.CreateVm, create(name)));
        String oldest;
        synchronized (this) {
          names.put(vm.getId(), name);
          live.addLast(vm.getId());
          oldest = live.size() > LIVE ? live.peekFirst() : null;
        }
        if (oldest != null) {
          untilAnswered(cp -> {
            try {
              f.callSync(cp, VmServiceGrpcClient.DeleteVm, DeleteVmRequest.newBuilder()
                  .setVm(VmRef.newBuilder().setId(oldest)).build());
            } catch (GrpcCallException e) {
              if (e.status() != GrpcStatus.NOT_FOUND) { // NOT_FOUND: an earlier attempt whose answer was lost did it
                throw e;
              }
            }
            return oldest;
          });
          synchronized (this) {
            live.remove(oldest);
            deleted.add(oldest);
          }
        }
        Await.sleep(500);
      }
    }

    private <T> T untilAnswered(java.util.function.Function<String, T> call) {
      for (int attempt = 0; ; attempt++) {
        String cp = (n + attempt) % 2 == 0 ? "cp-a" : "cp-b";
        if (paused.contains(cp)) {
          continue; // a client that gave up on a stalled host at once
        }
        try {
          return call.apply(cp);
        } catch (GrpcCallException e) {
          if (e.status() != GrpcStatus.UNAVAILABLE && e.status() != GrpcStatus.DEADLINE_EXCEEDED) {
            throw e;
          }
        } catch (RuntimeException e) {
          // could not connect (that control plane is down), or no answer in time: try again
        }
        Await.sleep(100);
      }
    }
  }
}
