package io.mpqemu.dist.cluster;

import static io.mpqemu.controlplane.bench.Bench.quantile;

import com.google.protobuf.util.JsonFormat;
import io.mpqemu.controlplane.ControlPlaneConfig;
import io.mpqemu.controlplane.ControlPlaneVerticle;
import io.mpqemu.controlplane.bench.Bench;
import io.mpqemu.fleet.ClusterConfig;
import io.mpqemu.fleet.ClusteredVertx;
import io.mpqemu.spec.NodeLimits;
import io.mpqemu.testing.Await;
import io.mpqemu.v1.EventType;
import io.mpqemu.v1.Phase;
import io.mpqemu.v1.VmEvent;
import io.mpqemu.v1.VmServiceGrpcClient;
import io.mpqemu.v1.WatchEventsRequest;
import io.mpqemu.wire.BusAddresses;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.json.JsonObject;
import io.vertx.core.net.SocketAddress;
import io.vertx.grpc.client.GrpcClient;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * Event delivery latency from an agent's publish to a WatchEvents subscriber of the control plane:
 * the local event bus (control plane and publisher in one Vert.x, as in embedded mode) against the
 * clustered bus under mutual TLS (the control plane in a JVM of its own in another network namespace,
 * the publisher joined to the cluster as a node agent). The subscriber reads over the control plane's
 * UNIX socket in both cases, and both records go through the same SQLite commit (fsync) before they
 * are served; only the bus differs. Then the time a host takes to be declared LOST, for a killed
 * agent and for a cut link.
 *
 * <p>{@code mvn -B -o verify -Pbench -pl dist -Dsurefire.failIfNoSpecifiedTests=false -Dtest=EventBusLatencyBenchmark}; settings
 * {@code -Dbench.events=2000}, {@code -Dbench.warmup=300}, {@code -Dbench.lostRuns=3}.
 */
class EventBusLatencyBenchmark {

  private static final int EVENTS = Integer.getInteger("bench.events", 2000);
  private static final int WARMUP = Integer.getInteger("bench.warmup", 300);
  private static final int LOST_RUNS = Integer.getInteger("bench.lostRuns", 3);

  @Test
  void eventLatencyAndTimeToLost() throws Exception {
    Bench.Report r = new Bench.Report();
    r.line("# Event delivery latency: agent publish -> control plane -> WatchEvents subscriber");
    r.line("host: " + Bench.host() + "; " + Instant.now());
    double[] local = local(r);
    try (ThreeHosts c = new ThreeHosts(true)) {
      c.startControlPlane();
      double[] clustered = clustered(r, c);
      r.f("%-28s %8s %8s %8s %8s", "ms (N=" + EVENTS + ")", "median", "p99", "min", "max");
      r.f("%-28s %8.2f %8.2f %8.2f %8.2f", "local bus", quantile(local, 0.5), quantile(local, 0.99),
          quantile(local, 0), quantile(local, 1));
      r.f("%-28s %8.2f %8.2f %8.2f %8.2f", "clustered bus, mutual TLS", quantile(clustered, 0.5),
          quantile(clustered, 0.99), quantile(clustered, 0), quantile(clustered, 1));
      r.f("ratio clustered/local: median %.2fx, p99 %.2fx", quantile(clustered, 0.5) / quantile(local, 0.5),
          quantile(clustered, 0.99) / quantile(local, 0.99));
      r.line("network: " + (c.net.namespaces ? "network namespaces and veth links" : "loopback"));
      signingCost(r, c);
      timeToLost(r, c);
    }
    r.save("bench-event-bus.txt");
  }

  /** Control plane and publisher in one Vert.x: the local event bus. */
  private static double[] local(Bench.Report r) throws Exception {
    Path dir = Files.createTempDirectory(Path.of(System.getProperty("bench.dir", "/tmp")), "mpqemu-bench-bus-");
    Vertx vertx = Vertx.builder().with(new VertxOptions().setPreferNativeTransport(true)).build();
    try {
      Path socket = dir.resolve("cp.sock");
      ControlPlaneConfig config = new ControlPlaneConfig(dir.resolve("cp"), List.of("unix:" + socket), Duration.ofSeconds(10),
          Duration.ofSeconds(30), Duration.ofHours(1), Duration.ofSeconds(60), Duration.ofSeconds(60), NodeLimits.defaults());
      Await.result(vertx.deployVerticle(new ControlPlaneVerticle(config)), Bench.WAIT);
      JsonObject beat = benchHeartbeat("tcp:127.0.0.1:1");
      vertx.setPeriodic(0, 1000, id -> vertx.eventBus().publish(BusAddresses.HEARTBEATS, beat));
      return measure(vertx, SocketAddress.domainSocketAddress(socket.toString()), null);
    } finally {
      Await.result(vertx.close(), Bench.WAIT);
      try (var files = Files.walk(dir)) {
        files.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
      }
    }
  }

  /**
   * The publisher joins the cluster as the node agent "bench" (certificate CN=bench) and signs what it
   * publishes, as an agent does: one heartbeat first (it carries the certificate), then the events.
   * The control plane runs in its own JVM and namespace.
   */
  private static double[] clustered(Bench.Report r, ThreeHosts c) throws Exception {
    ClusterConfig cluster = ClusterConfig.read(c.selfClusterFile());
    io.mpqemu.fleet.ClusterTls tls = cluster.tls();
    Vertx vertx = Await.result(ClusteredVertx.start(cluster, tls, new VertxOptions().setPreferNativeTransport(true)),
        Bench.WAIT);
    try {
      io.mpqemu.fleet.BusSignatures.Signer signer = new io.mpqemu.fleet.BusSignatures.Signer(tls);
      JsonObject beat = benchHeartbeat("tcp:" + c.net.selfIp + ":1"); // an address its certificate names
      vertx.setPeriodic(0, 1000, id -> vertx.eventBus().publish(BusAddresses.HEARTBEATS, beat,
          signer.sign(BusAddresses.HEARTBEATS, beat, true)));
      return measure(vertx, SocketAddress.domainSocketAddress(c.cpSocket().toString()), signer);
    } finally {
      Await.result(vertx.close(), Bench.WAIT);
    }
  }

  /**
   * The heartbeat of the node "bench", which a small VM fits, announcing {@code endpoint}; nothing listens
   * there, so the VM placed on it stays SCHEDULED there, and the node's events about it count.
   */
  private static JsonObject benchHeartbeat(String endpoint) throws Exception {
    return new JsonObject(JsonFormat.printer().omittingInsignificantWhitespace().print(
        io.mpqemu.v1.NodeHeartbeat.newBuilder().setNodeId("bench").setEndpoint(endpoint)
            .setInfo(io.mpqemu.v1.NodeInfo.newBuilder().setNodeId("bench").setMultiprocessSupported(true)
                .addAllowedDrivers("lsi53c895a").setCapacity(io.mpqemu.v1.Capacity.newBuilder().setMemoryMib(4096)
                    .setMaxVms(8).setMaxMemoryMibPerVm(4096).setMaxDevicesPerVm(4).setMaxDisksPerDevice(4)
                    .setMaxVcpusPerVm(8)))
            .build()));
  }

  /**
   * A VM placed on the node "bench": the control plane records a node's events only about VMs placed
   * on it. Waits until the heartbeats made the node READY and the VM is placed there.
   */
  private static String benchVm(GrpcClient grpc, SocketAddress cp) {
    String id = Await.result(io.mpqemu.grpc.UnaryCalls.call(grpc, cp, VmServiceGrpcClient.CreateVm,
        io.mpqemu.v1.CreateVmRequest.newBuilder().setSpec(io.mpqemu.v1.VmSpec.newBuilder().setName("bench").setMemoryMib(64)
            .addDevices(io.mpqemu.v1.ProxiedDevice.newBuilder().setId("lsi0").setDriver("lsi53c895a")
                .addDisks(io.mpqemu.v1.Disk.newBuilder().setId("boot").setImage("bench.img")))).build(),
        Duration.ofSeconds(30)), Bench.WAIT).getId();
    Await.atMost(Duration.ofSeconds(60)).every(Duration.ofMillis(100)).until(
        () -> Await.result(io.mpqemu.grpc.UnaryCalls.call(grpc, cp, VmServiceGrpcClient.GetVm,
            io.mpqemu.v1.GetVmRequest.newBuilder().setVm(io.mpqemu.v1.VmRef.newBuilder().setId(id)).build(),
            Duration.ofSeconds(30)), Bench.WAIT),
        vm -> vm.getStatus().getNode().equals("bench"), vm -> "the VM is not placed on bench: " + vm.getStatus());
    return id;
  }

  /**
   * Publishes events one at a time on the agent events address (as an agent's EventHub does) and
   * times each until the subscriber has it. Publish and receipt are both timed in this JVM. With a
   * {@code signer} each event goes out signed, as an agent in a fleet sends it.
   */
  private static double[] measure(Vertx vertx, SocketAddress cp, io.mpqemu.fleet.BusSignatures.Signer signer)
      throws Exception {
    Map<String, Long> sentAt = new ConcurrentHashMap<>();
    Map<String, CountDownLatch> arrived = new ConcurrentHashMap<>();
    double[] latencies = new double[EVENTS];
    GrpcClient grpc = GrpcClient.client(vertx);
    String vmId = benchVm(grpc, cp);
    Await.result(grpc.request(cp, VmServiceGrpcClient.WatchEvents).compose(req -> {
      req.end(WatchEventsRequest.newBuilder().setFromSeq(0).build());
      return req.response().map(resp -> resp.handler(e -> {
        long now = System.nanoTime();
        Long t0 = sentAt.remove(e.getMessage());
        CountDownLatch l = arrived.get(e.getMessage());
        if (t0 != null && l != null) {
          sentAt.put(e.getMessage() + "@", now - t0);
          l.countDown();
        }
      }));
    }), Bench.WAIT);
    for (int i = -WARMUP; i < EVENTS; i++) {
      String id = "bench-" + i;
      VmEvent event = VmEvent.newBuilder().setVmId(vmId).setVmName("bench")
          .setNode("bench").setType(EventType.PROCESS_STARTED).setPhase(Phase.PHASE_RUNNING).setReason("Bench")
          .setMessage(id).build();
      JsonObject body = new JsonObject(JsonFormat.printer().omittingInsignificantWhitespace().print(event));
      CountDownLatch latch = new CountDownLatch(1);
      arrived.put(id, latch);
      // until the cluster's subscription lists reach this member, a publish finds no subscriber: retry
      while (true) {
        sentAt.put(id, System.nanoTime());
        if (signer == null) {
          vertx.eventBus().publish(BusAddresses.VM_EVENTS, body);
        } else {
          vertx.eventBus().publish(BusAddresses.VM_EVENTS, body, signer.sign(BusAddresses.VM_EVENTS, body, false));
        }
        if (latch.await(i < -WARMUP + 5 ? 2000 : 10_000, TimeUnit.MILLISECONDS)) {
          break;
        }
        if (i > -WARMUP + 5) {
          throw new AssertionError("event " + id + " did not arrive within 10 s");
        }
      }
      arrived.remove(id);
      if (i >= 0) {
        latencies[i] = sentAt.remove(id + "@") / 1e6;
      } else {
        sentAt.remove(id + "@");
      }
      Thread.sleep(2);
    }
    Await.result(grpc.close(), Bench.WAIT);
    return latencies;
  }

  /** What the clustered path adds per event for signatures: the agent's sign and the control plane's check. */
  private static void signingCost(Bench.Report r, ThreeHosts c) throws Exception {
    io.mpqemu.fleet.ClusterTls bench = ClusterConfig.read(c.selfClusterFile()).tls();
    io.mpqemu.fleet.ClusterTls cp = io.mpqemu.fleet.ClusterTls.load(c.pki.crt("ca"), c.pki.crt("cp"), c.pki.key("cp"));
    io.mpqemu.fleet.BusSignatures.Signer s = new io.mpqemu.fleet.BusSignatures.Signer(bench);
    io.mpqemu.fleet.BusSignatures.Verifier v = new io.mpqemu.fleet.BusSignatures.Verifier(cp);
    JsonObject beat = new JsonObject().put("nodeId", "bench");
    v.heartbeat("bench", BusAddresses.HEARTBEATS, beat, s.sign(BusAddresses.HEARTBEATS, beat, true).getHeaders());
    JsonObject body = new JsonObject(JsonFormat.printer().omittingInsignificantWhitespace().print(VmEvent.newBuilder()
        .setVmId("00000000-0000-4000-8000-000000000001").setNode("bench").setType(EventType.PROCESS_STARTED).build()));
    double[] sign = new double[EVENTS];
    double[] verify = new double[EVENTS];
    for (int i = -WARMUP; i < EVENTS; i++) {
      long t0 = System.nanoTime();
      var headers = s.sign(BusAddresses.VM_EVENTS, body, false).getHeaders();
      long t1 = System.nanoTime();
      if (v.event("bench", BusAddresses.VM_EVENTS, body, headers) != null) {
        throw new AssertionError("a good signature was refused");
      }
      long t2 = System.nanoTime();
      if (i >= 0) {
        sign[i] = (t1 - t0) / 1e6;
        verify[i] = (t2 - t1) / 1e6;
      }
    }
    r.f("of which signatures (ECDSA P-256, SHA-256), in this JVM: sign median %.2f ms, check median %.2f ms",
        quantile(sign, 0.5), quantile(verify, 0.5));
  }

  /** Kill -9 of an agent JVM, and a cut link: time from the fault to NODE_LOST in the control plane's log. */
  private static void timeToLost(Bench.Report r, ThreeHosts c) throws Exception {
    r.f("# Time to LOST (heartbeat every 500 ms; NOT_READY after %d s, LOST after %d s; node check every 1 s)",
        ThreeHosts.NOT_READY_AFTER_S, ThreeHosts.LOST_AFTER_S);
    startAndAwaitReady(c);
    List<Double> killed = new ArrayList<>();
    List<Double> cut = new ArrayList<>();
    for (int run = 0; run < LOST_RUNS; run++) {
      killed.add(lostAfter(c, () -> c.agents.get("agent-a").kill9()));
      startAndAwaitReady(c);
      if (c.net.namespaces) {
        ClusterNet.Host a = c.agentHosts.get("agent-a");
        long before = c.lastSeq();
        try {
          cut.add(lostAfter(c, () -> c.net.cut(a)));
        } finally {
          c.net.restore(a);
        }
        c.awaitEvent(before, e -> e.getType() == EventType.NODE_READY && e.getNode().equals("agent-a"),
            Duration.ofSeconds(90), "NODE_READY after the link returned");
      }
    }
    r.f("kill -9 of the agent JVM -> NODE_LOST: %s s", seconds(killed));
    r.f("veth link cut            -> NODE_LOST: %s s", c.net.namespaces ? seconds(cut) : "(no namespaces here)");
  }

  private static void startAndAwaitReady(ThreeHosts c) throws Exception {
    long before = c.lastSeq();
    c.startAgent("agent-a");
    c.awaitEvent(before, e -> e.getType() == EventType.NODE_READY && e.getNode().equals("agent-a"), Duration.ofSeconds(60),
        "NODE_READY agent-a");
  }

  private interface Fault {
    void apply() throws Exception;
  }

  private static double lostAfter(ThreeHosts c, Fault fault) throws Exception {
    long after = c.lastSeq();
    Instant t0 = Instant.now();
    fault.apply();
    VmEvent lost = c.awaitEvent(after, e -> e.getType() == EventType.NODE_LOST && e.getNode().equals("agent-a"),
        Duration.ofSeconds(60), "NODE_LOST agent-a");
    Instant at = Instant.ofEpochSecond(lost.getTime().getSeconds(), lost.getTime().getNanos());
    return Duration.between(t0, at).toMillis() / 1000.0;
  }

  private static String seconds(List<Double> v) {
    return v.stream().map(d -> String.format(java.util.Locale.ROOT, "%.2f", d)).toList().toString();
  }
}
