package io.mpqemu.controlplane;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.tuple;

import io.mpqemu.controlplane.bench.Bench;
import io.mpqemu.controlplane.bench.ServeMain;
import io.mpqemu.controlplane.leadership.Term;
import io.mpqemu.controlplane.store.PostgresLease;
import io.mpqemu.controlplane.store.PostgresTarget;
import io.mpqemu.grpc.GrpcCallException;
import io.mpqemu.testing.Await;
import io.mpqemu.testing.PostgresServer;
import io.mpqemu.testing.Ports;
import io.mpqemu.testing.ServiceJvm;
import io.mpqemu.testing.TcpProxy;
import io.mpqemu.v1.ControlPlane;
import io.mpqemu.v1.CreateVmRequest;
import io.mpqemu.v1.DesiredState;
import io.mpqemu.v1.EventType;
import io.mpqemu.v1.GetVmRequest;
import io.mpqemu.v1.ListControlPlanesRequest;
import io.mpqemu.v1.Vm;
import io.mpqemu.v1.VmEvent;
import io.mpqemu.v1.VmRef;
import io.mpqemu.v1.VmServiceGrpcClient;
import io.vertx.core.net.SocketAddress;
import io.vertx.grpc.client.GrpcClientRequest;
import io.vertx.grpc.common.GrpcStatus;
import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.stream.LongStream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Two control planes, each in a JVM of its own, on one real PostgreSQL: one leads, the other is a standby
 * that serves reads and events; kill -9 the leader and the standby takes over within the bound, the
 * event log going on without a gap. Short leases keep it quick: 2 s, renew deadline 1.5 s, a try every 0.5 s.
 */
class FailoverTest {

  private static final Duration LEASE = Duration.ofSeconds(2);
  private static final Duration START_WITHIN = Duration.ofSeconds(90);
  private static PostgresServer server;

  @TempDir
  Path dir;
  private final List<ServiceJvm> jvms = new ArrayList<>();
  private Bench.Clients clients;
  private PostgresServer.Database database;
  private Path password;

  @BeforeAll
  static void startPostgres() throws Exception {
    server = PostgresServer.create();
  }

  @AfterAll
  static void stopPostgres() {
    server.close();
  }

  @AfterEach
  void stopAll() throws InterruptedException {
    for (ServiceJvm jvm : jvms) {
      jvm.close();
    }
    if (clients != null) {
      clients.close();
    }
  }

  @Test
  @DisplayName("one of two control planes leads; the standby serves reads and events and forwards writes to the"
      + " leader (refused UNAVAILABLE while the leader cannot be reached); kill -9 the leader and the standby leads in"
      + " the next epoch within 3 lease lengths, and its subscriber sees LEADER_LOST and LEADER_ELECTED with no gap in"
      + " the log; the old leader, back, is a standby that forwards writes to the new one")
  void standbyTakesOver() throws Exception {
    prepare("failover");

    Member a = start("cp-a");
    Await.atMost(START_WITHIN).until(() -> a.leadership().equals("leads in epoch 1"), "cp-a to lead");
    Member b = start("cp-b");
    Await.atMost(START_WITHIN).until(() -> b.leadership().equals("standby: cp-a leads in epoch 1"),
        "cp-b to see cp-a lead");

    Await.atMost(Duration.ofSeconds(10)).until(() -> controlPlanes(b).size() == 2, "both to have announced themselves");
    List<ControlPlane> listed = controlPlanes(b);
    assertThat(listed).extracting(ControlPlane::getId, ControlPlane::getLeader, ControlPlane::getLeaderEpoch)
        .containsExactly(tuple("cp-a", true, 1L), tuple("cp-b", false, 0L));
    assertThat(listed.get(0).getAddressesList()).containsExactly("unix:" + dir.resolve("cp-a.sock"));

    Vm first = clients.callSync(a.api, VmServiceGrpcClient.CreateVm, create("first"));
    assertThat(clients.callSync(b.api, VmServiceGrpcClient.GetVm, GetVmRequest.newBuilder()
        .setVm(VmRef.newBuilder().setName("first")).build()).getId()).isEqualTo(first.getId());
    // a write sent to the standby is made by the leader, for the same owner as one sent to the leader
    Vm viaStandby = clients.callSync(b.api, VmServiceGrpcClient.CreateVm, create("via-standby"));
    assertThat(viaStandby.getOwner()).isEqualTo(first.getOwner()).isNotEmpty();
    assertThat(clients.callSync(a.api, VmServiceGrpcClient.GetVm, GetVmRequest.newBuilder()
        .setVm(VmRef.newBuilder().setId(viaStandby.getId())).build()).getRevision()).isEqualTo(viaStandby.getRevision());
    GrpcCallException twice = refusal(b, create("via-standby"));
    assertThat(twice.status()).as("the leader's own refusal, passed on").isEqualTo(GrpcStatus.ALREADY_EXISTS);

    List<VmEvent> seen = new CopyOnWriteArrayList<>();
    GrpcClientRequest<?, ?> watch = Bench.Clients.watch(clients.grpc, b.api, 0, seen::add);
    Await.atMost(Duration.ofSeconds(10)).until(() -> seen.stream().anyMatch(e -> e.getType() == EventType.ACCEPTED),
        "the standby's subscriber to see the leader's ACCEPTED");
    List<VmEvent> onLeader = new CopyOnWriteArrayList<>(); // a subscriber of the leader, which is about to die
    Bench.Clients.watch(clients.grpc, a.api, 0, onLeader::add);
    Await.atMost(Duration.ofSeconds(10)).until(() -> onLeader.size() == seen.size(), "the leader's subscriber");

    long killedAt = System.nanoTime();
    a.jvm.kill9();
    GrpcCallException leaderGone = refusal(b, create("leader-gone"));
    assertThat(leaderGone.status()).isEqualTo(GrpcStatus.UNAVAILABLE);
    assertThat(leaderGone.serverMessage()).startsWith("this control plane (cp-b) is a standby and cannot reach the"
        + " leader cp-a (");
    Await.atMost(LEASE.multipliedBy(3).plusSeconds(5)).until(() -> b.leadership().equals("leads in epoch 2"),
        "cp-b to lead after cp-a's death");
    Duration takeover = Duration.ofNanos(System.nanoTime() - killedAt);
    assertThat(takeover).as("kill -9 of the leader to the standby leading").isLessThan(LEASE.multipliedBy(3));

    assertThat(controlPlanes(b)).extracting(ControlPlane::getId, ControlPlane::getLeader, ControlPlane::getLeaderEpoch)
        .as("cp-a, killed, stays listed (no clean stop withdrew it), no longer leading")
        .containsExactly(tuple("cp-a", false, 0L), tuple("cp-b", true, 2L));

    Vm second = clients.callSync(b.api, VmServiceGrpcClient.CreateVm, create("second"));
    Await.atMost(Duration.ofSeconds(10)).until(() -> seen.stream().anyMatch(e -> e.getVmId().equals(second.getId())),
        "the subscriber to see the new leader's ACCEPTED");
    watch.cancel();
    // the dead leader's subscriber resumes on the new one from the last seq it got: nothing lost, nothing twice
    List<VmEvent> resumed = new CopyOnWriteArrayList<>(onLeader);
    GrpcClientRequest<?, ?> again = Bench.Clients.watch(clients.grpc, b.api, onLeader.get(onLeader.size() - 1).getSeq(),
        resumed::add);
    Await.atMost(Duration.ofSeconds(10)).until(() -> resumed.size() >= seen.size(), "the resumed subscriber");
    again.cancel();
    assertThat(resumed).isEqualTo(seen);
    assertThat(seen).extracting(VmEvent::getSeq).as("every seq once, in order, from 1")
        .containsExactlyElementsOf(LongStream.rangeClosed(1, seen.size()).boxed().toList());
    assertThat(seen).extracting(VmEvent::getType).containsSubsequence(EventType.LEADER_ELECTED, EventType.ACCEPTED,
        EventType.LEADER_LOST, EventType.LEADER_ELECTED, EventType.ACCEPTED);
    assertThat(seen).filteredOn(e -> e.getType() == EventType.LEADER_ELECTED).extracting(VmEvent::getLeaderEpoch)
        .containsExactly(1L, 2L);

    Member back = new Member("cp-a", a.jvm.restart("control plane ready", START_WITHIN), a.api, a.http);
    jvms.add(back.jvm);
    Await.atMost(START_WITHIN).until(() -> back.leadership().equals("standby: cp-b leads in epoch 2"),
        "cp-a, back, to be a standby");
    Vm late = clients.callSync(back.api, VmServiceGrpcClient.CreateVm, create("late"));
    assertThat(clients.callSync(b.api, VmServiceGrpcClient.GetVm, GetVmRequest.newBuilder()
        .setVm(VmRef.newBuilder().setName("late")).build()).getId()).isEqualTo(late.getId());
  }

  @Test
  @DisplayName("a leader paused (SIGSTOP) past its lease is replaced; resumed, it is a standby at once: a create"
      + " it received while paused is refused or, once it knows the new leader, forwarded to it; never made in the old term")
  void pausedLeaderStepsDown() throws Exception {
    prepare("paused");
    Member a = start("cp-a");
    Await.atMost(START_WITHIN).until(() -> a.leadership().equals("leads in epoch 1"), "cp-a to lead");
    Member b = start("cp-b");
    Await.atMost(START_WITHIN).until(() -> b.leadership().equals("standby: cp-a leads in epoch 1"), "cp-b standby");

    signal("STOP", a.jvm.pid());
    io.vertx.core.Future<Vm> sentWhilePaused;
    try {
      Await.atMost(LEASE.multipliedBy(3).plusSeconds(5)).until(() -> b.leadership().equals("leads in epoch 2"),
          "cp-b to lead while cp-a is paused");
      sentWhilePaused = clients.call(a.api, VmServiceGrpcClient.CreateVm, create("while-paused"));
      Await.sleep(300); // on its way to the paused leader's socket
    } finally {
      signal("CONT", a.jvm.pid());
    }

    Await.result(sentWhilePaused.transform(ar -> io.vertx.core.Future.succeededFuture()), Duration.ofSeconds(30));
    Await.atMost(Duration.ofSeconds(10)).until(() -> a.leadership().equals("standby: cp-b leads in epoch 2"),
        "cp-a, resumed, to be a standby");
    List<VmEvent> log = logUpTo(b, clients.callSync(b.api, VmServiceGrpcClient.CreateVm, create("after")));
    if (sentWhilePaused.failed()) {
      assertThat(sentWhilePaused.cause()).isInstanceOfSatisfying(GrpcCallException.class, e -> {
        assertThat(e.status()).isEqualTo(GrpcStatus.UNAVAILABLE);
        assertThat(e.serverMessage()).contains("this control plane (cp-a) takes no writes");
      });
      assertThat(log).extracting(VmEvent::getType).containsExactly(EventType.LEADER_ELECTED, EventType.LEADER_LOST,
          EventType.LEADER_ELECTED, EventType.ACCEPTED);
    } else { // forwarded to cp-b once cp-a had seen it lead: made in epoch 2
      assertThat(log).extracting(VmEvent::getType, VmEvent::getVmName).containsExactly(
          tuple(EventType.LEADER_ELECTED, ""), tuple(EventType.LEADER_LOST, ""), tuple(EventType.LEADER_ELECTED, ""),
          tuple(EventType.ACCEPTED, "while-paused"), tuple(EventType.ACCEPTED, "after"));
    }
  }

  @Test
  @DisplayName("a leader cut from PostgreSQL (a proxy that stops forwarding) stops leading before its lease could"
      + " expire; the standby takes over; healed, the old leader is a standby, and the create it was sent while cut"
      + " failed and is nowhere in the log")
  void cutLeaderStepsDown() throws Exception {
    prepare("cut");
    try (TcpProxy proxy = TcpProxy.to("127.0.0.1", database.port())) {
      Member a = start("cp-a", database.url().replace(":" + database.port() + "/", ":" + proxy.port() + "/"));
      Await.atMost(START_WITHIN).until(() -> a.leadership().equals("leads in epoch 1"), "cp-a to lead");
      Member b = start("cp-b");
      Await.atMost(START_WITHIN).until(() -> b.leadership().equals("standby: cp-a leads in epoch 1"), "cp-b standby");
      clients.callSync(a.api, VmServiceGrpcClient.CreateVm, create("before"));

      Instant cutAt = Instant.now();
      proxy.blackhole();
      io.vertx.core.Future<Vm> duringCut = clients.call(a.api, VmServiceGrpcClient.CreateVm, create("during-cut"));
      String steppedDown = a.jvm.awaitLog("steps down from epoch 1", Duration.ofSeconds(20));
      Instant stepDownAt = Instant.parse(steppedDown.substring(steppedDown.indexOf("20"), steppedDown.indexOf("Z") + 1));
      assertThat(Duration.between(cutAt, stepDownAt)).as("cut to the leader stepping down, against the 2 s lease")
          .isLessThan(LEASE);
      try (PostgresLease lease = new PostgresLease(PostgresTarget.parse(database.url(), database.password()))) {
        Term held = lease.current(); // read past the proxy, as the database has it
        assertThat(held.holder()).as("nobody took the lease before cp-a stepped down").isEqualTo("cp-a");
        assertThat(held.epoch()).isEqualTo(1);
        assertThat(stepDownAt).as("cp-a stepped down before the lease it last renewed expired (by the database)")
            .isBefore(held.expiresAt());
      }
      Await.atMost(LEASE.multipliedBy(3).plusSeconds(5)).until(() -> b.leadership().equals("leads in epoch 2"),
          "cp-b to lead while cp-a is cut off");
      proxy.heal();

      assertThat(Await.failure(duringCut)).isInstanceOfSatisfying(GrpcCallException.class, e -> {
        assertThat(e.status()).isEqualTo(GrpcStatus.UNAVAILABLE);
        assertThat(e.serverMessage()).startsWith("this control plane (cp-a) ");
      });
      Await.atMost(Duration.ofSeconds(20)).until(() -> a.leadership().equals("standby: cp-b leads in epoch 2"),
          "cp-a, healed, to be a standby");
      List<VmEvent> log = logUpTo(a, clients.callSync(b.api, VmServiceGrpcClient.CreateVm, create("after")));
      assertThat(log).extracting(VmEvent::getSeq).containsExactlyElementsOf(
          LongStream.rangeClosed(1, log.size()).boxed().toList());
      assertThat(log).extracting(VmEvent::getType).containsExactly(EventType.LEADER_ELECTED, EventType.ACCEPTED,
          EventType.LEADER_LOST, EventType.LEADER_ELECTED, EventType.ACCEPTED);
      assertThat(log).noneMatch(e -> e.getVmName().equals("during-cut"));
    }
  }

  @Test
  @DisplayName("a leader killed and started again within its lease resumes its own term: the same epoch, a"
      + " LEADER_ELECTED saying so and no LEADER_LOST, and it takes writes again")
  void restartWithinTheLeaseResumesTheTerm() throws Exception {
    prepare("resume");
    Member a = start("cp-a", database.url(), "60s", "10s", "500ms"); // a lease that outlasts a JVM's restart
    Await.atMost(START_WITHIN).until(() -> a.leadership().equals("leads in epoch 1"), "cp-a to lead");
    a.jvm.kill9();
    Member back = new Member("cp-a", a.jvm.restart("control plane ready", START_WITHIN), a.api, a.http);
    jvms.add(back.jvm);
    Await.atMost(START_WITHIN).until(() -> back.leadership().equals("leads in epoch 1"), "cp-a to lead again");

    List<VmEvent> log = logUpTo(back, clients.callSync(back.api, VmServiceGrpcClient.CreateVm, create("again")));
    assertThat(log).extracting(VmEvent::getType, VmEvent::getReason, VmEvent::getLeaderEpoch).containsExactly(
        tuple(EventType.LEADER_ELECTED, "LeaseTaken", 1L), tuple(EventType.LEADER_ELECTED, "LeaseResumed", 1L),
        tuple(EventType.ACCEPTED, "Accepted", 0L));
  }

  /** A database of its own for the test, its password in a file, and clients. */
  private void prepare(String name) throws Exception {
    database = server.createDatabase(name);
    password = Files.writeString(dir.resolve("store.pw"), database.password() + "\n");
    Files.setPosixFilePermissions(password, PosixFilePermissions.fromString("rw-------"));
    clients = new Bench.Clients();
  }

  /** The event log from its start, as {@code via} serves it, up to {@code last}'s ACCEPTED. */
  private List<VmEvent> logUpTo(Member via, Vm last) {
    List<VmEvent> log = new CopyOnWriteArrayList<>();
    GrpcClientRequest<?, ?> watch = Bench.Clients.watch(clients.grpc, via.api, 0, log::add);
    Await.atMost(Duration.ofSeconds(10)).until(() -> log.stream().anyMatch(e -> e.getVmId().equals(last.getId())),
        "the log up to " + last.getSpec().getName() + ", through " + via.id);
    watch.cancel();
    return log;
  }

  private static void signal(String signal, long pid) throws IOException, InterruptedException {
    assertThat(new ProcessBuilder("kill", "-" + signal, Long.toString(pid)).inheritIO().start().waitFor()).isZero();
  }

  private List<ControlPlane> controlPlanes(Member of) {
    return clients.callSync(of.api, VmServiceGrpcClient.ListControlPlanes, ListControlPlanesRequest.getDefaultInstance())
        .getControlPlanesList();
  }

  private static CreateVmRequest create(String name) {
    return CreateVmRequest.newBuilder().setSpec(Bench.spec(name)).setDesiredState(DesiredState.STOPPED).build();
  }

  private GrpcCallException refusal(Member to, CreateVmRequest request) {
    Throwable failure = Await.failure(clients.call(to.api, VmServiceGrpcClient.CreateVm, request));
    assertThat(failure).isInstanceOf(GrpcCallException.class);
    return (GrpcCallException) failure;
  }

  private Member start(String id) throws IOException {
    return start(id, database.url());
  }

  private Member start(String id, String storeUrl) throws IOException {
    return start(id, storeUrl, "2s", "1500ms", "500ms");
  }

  private Member start(String id, String storeUrl, String length, String renewDeadline, String retry)
      throws IOException {
    int port = Ports.free();
    Path sock = dir.resolve(id + ".sock");
    ServiceJvm jvm = ServiceJvm.command(id, ServeMain.class.getName(), dir.resolve(id + ".log"))
        .args("serve", "--data-dir", dir.resolve(id).toString(), "--listen", "unix:" + sock,
            "--http-listen", "tcp:127.0.0.1:" + port, "--insecure-plaintext-tcp", "--store", storeUrl,
            "--store-password-file", password.toString(), "--control-plane-id", id, "--lease-length", length,
            "--lease-renew-deadline", renewDeadline, "--lease-retry-period", retry)
        .start("control plane ready", START_WITHIN);
    jvms.add(jvm);
    return new Member(id, jvm, SocketAddress.domainSocketAddress(sock.toString()),
        URI.create("http://127.0.0.1:" + port + "/readyz"));
  }

  private record Member(String id, ServiceJvm jvm, SocketAddress api, URI http) {
    /** What /readyz's leadership check says now ("" when it does not answer). */
    String leadership() {
      return Bench.readyCheck(http, "leadership");
    }
  }
}
