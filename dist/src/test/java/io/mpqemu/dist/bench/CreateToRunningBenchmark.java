package io.mpqemu.dist.bench;

import static org.assertj.core.api.Assertions.assertThat;

import io.mpqemu.agent.AgentConfig;
import io.mpqemu.agent.NodeAgentVerticle;
import io.mpqemu.agent.confine.ConfinementSettings;
import io.mpqemu.agent.confine.UidRange;
import io.mpqemu.agent.process.ProcessScanner;
import io.mpqemu.agent.process.ProcessTable;
import io.mpqemu.agent.qemu.BootImage;
import io.mpqemu.controlplane.bench.Bench.Clients;
import io.mpqemu.controlplane.bench.Bench.ControlPlane;
import io.mpqemu.controlplane.bench.Bench.Report;
import io.mpqemu.controlplane.bench.Bench;
import io.mpqemu.spec.NodeLimits;
import io.mpqemu.testing.Await;
import io.mpqemu.testing.UidRanges;
import io.mpqemu.v1.AgentDeleteVmRequest;
import io.mpqemu.v1.AgentStopVmRequest;
import io.mpqemu.v1.AgentVm;
import io.mpqemu.v1.CreateVmRequest;
import io.mpqemu.v1.DeleteVmRequest;
import io.mpqemu.v1.DesiredState;
import io.mpqemu.v1.Disk;
import io.mpqemu.v1.EventType;
import io.mpqemu.v1.LaunchVmRequest;
import io.mpqemu.v1.ListNodesRequest;
import io.mpqemu.v1.Node;
import io.mpqemu.v1.NodeAgentServiceGrpcClient;
import io.mpqemu.v1.NodeState;
import io.mpqemu.v1.Phase;
import io.mpqemu.v1.ProxiedDevice;
import io.mpqemu.v1.Vm;
import io.mpqemu.v1.VmEvent;
import io.mpqemu.v1.VmRef;
import io.mpqemu.v1.VmServiceGrpcClient;
import io.mpqemu.v1.VmSpec;
import io.mpqemu.v1.WatchEventsRequest;
import io.mpqemu.wire.BusAddresses;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.json.JsonObject;
import io.vertx.core.net.SocketAddress;
import io.vertx.grpc.client.GrpcClientRequest;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import org.junit.jupiter.api.Test;

/**
 * Create-to-RUNNING through the control plane against LaunchVm on the agent directly.
 *
 * <p>Run: {@code mvn -B -o verify -Pbench -pl dist -Dsurefire.failIfNoSpecifiedTests=false -Dtest=CreateToRunningBenchmark}
 * (real QEMU). Knobs: {@code -Dbench.runs=12}, {@code -Dbench.warmup=2},
 * {@code -Dbench.accelerator=auto|kvm|tcg}, {@code -Dbench.dir=/tmp}.
 *
 * <p>A control plane and one node agent run in one Vert.x (the embedded shape, as the e2e Fleet: local
 * event bus, gRPC on UNIX sockets). Control plane run: from sending CreateVm (desired RUNNING) to the
 * VM's LAUNCHED event arriving on a WatchEvents stream opened before. Agent run: from sending LaunchVm
 * to the agent's socket to the LAUNCHED event arriving on the event bus (as the node agent benchmark
 * measures). The runs alternate (control plane first on even runs, the agent first on odd ones); every
 * VM is removed before the next launch (DeleteVm through the control plane; StopVm force + DeleteVm on
 * the agent).
 */
class CreateToRunningBenchmark {

  static final int RUNS = Integer.getInteger("bench.runs", 12);
  static final int WARMUP = Integer.getInteger("bench.warmup", 2);
  static final String ACCELERATOR = System.getProperty("bench.accelerator", "auto");
  static final String MESSAGE = "mpqemu cp bench guest booted";

  private final Report report = new Report();
  private final Map<String, Long> busLaunched = new ConcurrentHashMap<>();
  private final Map<String, Long> watchLaunched = new ConcurrentHashMap<>();
  private final Map<String, Long> watchScheduled = new ConcurrentHashMap<>();

  @Test
  void createToRunning() throws Exception {
    Path root = Files.createTempDirectory(Path.of(Bench.DIR), "mpqemu-cp-bench-run-");
    Vertx vertx = Vertx.builder().with(new VertxOptions().setPreferNativeTransport(true)).build();
    try (Clients cl = new Clients()) {
      report.line("== Create-to-RUNNING through the control plane against LaunchVm on the agent (mpqemu CreateToRunningBenchmark) ==");
      report.line("dirs under " + root + " (" + Files.getFileStore(root).type() + "); host: " + Bench.host());
      Path images = Files.createDirectories(root.resolve("images"));
      BootImage.writeRaw(images.resolve("cp.img"), MESSAGE, false);
      BootImage.writeRaw(images.resolve("agent.img"), MESSAGE, false);
      vertx.eventBus().<JsonObject>consumer(BusAddresses.VM_EVENTS, m -> {
        long now = System.nanoTime();
        if ("LAUNCHED".equals(m.body().getString("type"))) {
          busLaunched.putIfAbsent(m.body().getString("vmId", ""), now);
        }
      });
      ControlPlane cp = new ControlPlane(vertx, root.resolve("cp"), root.resolve("cp.sock"));
      Path agentDir = root.resolve("agent");
      Path agentSocket = agentDir.resolve("agent.sock");
      AgentConfig config = new AgentConfig("bench-node", List.of("unix:" + agentSocket), agentDir.resolve("state"),
          images, Path.of("qemu-system-x86_64"), ACCELERATOR, NodeLimits.defaults(), 4096, 16, Map.of(),
          Duration.ofSeconds(30), Duration.ofSeconds(5), 1024 * 1024, "", Duration.ofMillis(500))
          .withConfinement(ConfinementSettings.DEFAULT.withUids(UidRange.parse(UidRanges.next())));
      Await.result(vertx.deployVerticle(new NodeAgentVerticle(config)), Bench.WAIT);
      SocketAddress agent = SocketAddress.domainSocketAddress(agentSocket.toString());
      Node node = awaitReady(cl, cp.address());
      report.f("node %s READY: accelerator %s (asked: %s), %s", node.getId(), node.getInfo().getAccelerator(),
          ACCELERATOR, node.getInfo().getQemuVersion());
      GrpcClientRequest<WatchEventsRequest, VmEvent> watch = Clients.watch(cl.grpc, cp.address(), 0, e -> {
        long now = System.nanoTime();
        if (e.getType() == EventType.LAUNCHED) {
          watchLaunched.putIfAbsent(e.getVmId(), now);
        } else if (e.getType() == EventType.SCHEDULED) {
          watchScheduled.putIfAbsent(e.getVmId(), now);
        }
      });
      report.f("%d warm-up + %d measured runs of each, alternating; VM: 64 MiB, 1 vCPU, pc, one lsi53c895a with one raw"
          + " boot disk", WARMUP, RUNS);
      report.f("%-8s %12s %12s %12s %12s | %12s", "run", "cp: watch", "cp: bus", "cp: sched", "cp: reply",
          "agent: bus");
      List<double[]> cpRuns = new ArrayList<>();
      List<Double> agentRuns = new ArrayList<>();
      for (int i = 0; i < WARMUP + RUNS; i++) {
        double[] c;
        double a;
        if (i % 2 == 0) {
          c = cpRun(cl, cp.address(), "c-" + i);
          a = agentRun(cl, agent, "d-" + i);
        } else {
          a = agentRun(cl, agent, "d-" + i);
          c = cpRun(cl, cp.address(), "c-" + i);
        }
        boolean warm = i < WARMUP;
        if (!warm) {
          cpRuns.add(c);
          agentRuns.add(a);
        }
        report.f("%-8s %12.1f %12.1f %12.1f %12.1f | %12.1f", warm ? "warm-" + i : "run-" + (i - WARMUP), c[0], c[1],
            c[2], c[3], a);
      }
      watch.cancel();
      double[] cpWatch = cpRuns.stream().mapToDouble(v -> v[0]).toArray();
      double[] cpBus = cpRuns.stream().mapToDouble(v -> v[1]).toArray();
      double[] cpSched = cpRuns.stream().mapToDouble(v -> v[2]).toArray();
      double[] cpReply = cpRuns.stream().mapToDouble(v -> v[3]).toArray();
      double[] ag = agentRuns.stream().mapToDouble(Double::doubleValue).toArray();
      report.line("");
      report.f("N = %d each (ms)                                           median      p95      min      max", RUNS);
      stat("control plane: CreateVm -> LAUNCHED on WatchEvents", cpWatch);
      stat("control plane: CreateVm -> LAUNCHED on the event bus", cpBus);
      stat("control plane: CreateVm -> SCHEDULED on WatchEvents", cpSched);
      stat("control plane: CreateVm -> CreateVm answered", cpReply);
      stat("agent: LaunchVm -> LAUNCHED on the event bus", ag);
      report.f("ratio control plane / agent: median %.2f, p95 %.2f; the control plane's extra median time %.1f ms",
          Bench.quantile(cpWatch, 0.5) / Bench.quantile(ag, 0.5), Bench.quantile(cpWatch, 0.95) / Bench.quantile(ag, 0.95),
          Bench.quantile(cpWatch, 0.5) - Bench.quantile(ag, 0.5));
      report.f("of which: bus LAUNCHED -> recorded and streamed on WatchEvents, median %.1f ms",
          Bench.quantile(cpRuns.stream().mapToDouble(v -> v[0] - v[1]).toArray(), 0.5));
    } finally {
      try {
        Await.result(vertx.close(), Bench.WAIT);
      } finally {
        ProcessTable.killAndAwait(new ProcessScanner().under(root), Duration.ofSeconds(10));
        Bench.deleteTree(root);
        report.save("bench-create-to-running.txt");
      }
    }
  }

  /** [to LAUNCHED on WatchEvents, to LAUNCHED on the bus, to SCHEDULED on WatchEvents, to CreateVm's answer] in ms. */
  private double[] cpRun(Clients cl, SocketAddress cp, String name) {
    long t0 = System.nanoTime();
    Vm vm = cl.callSync(cp, VmServiceGrpcClient.CreateVm, CreateVmRequest.newBuilder().setSpec(spec(name, "cp.img"))
        .setDesiredState(DesiredState.RUNNING).build());
    long replied = System.nanoTime();
    long launched = awaitStamp(watchLaunched, vm.getId(), name);
    double[] r = {Bench.ms(t0, launched), Bench.ms(t0, awaitStamp(busLaunched, vm.getId(), name)),
        Bench.ms(t0, watchScheduled.getOrDefault(vm.getId(), t0)), Bench.ms(t0, replied)};
    cl.callSync(cp, VmServiceGrpcClient.DeleteVm, DeleteVmRequest.newBuilder().setVm(VmRef.newBuilder().setId(vm.getId()))
        .build());
    return r;
  }

  private double agentRun(Clients cl, SocketAddress agent, String id) {
    long t0 = System.nanoTime();
    AgentVm vm = cl.callSync(agent, NodeAgentServiceGrpcClient.LaunchVm, LaunchVmRequest.newBuilder().setVmId(id)
        .setSpec(spec(id, "agent.img")).build());
    assertThat(vm.getPhase()).isEqualTo(Phase.PHASE_RUNNING);
    long launched = awaitStamp(busLaunched, id, id);
    cl.callSync(agent, NodeAgentServiceGrpcClient.StopVm, AgentStopVmRequest.newBuilder().setVmId(id).setForce(true).build());
    cl.callSync(agent, NodeAgentServiceGrpcClient.DeleteVm, AgentDeleteVmRequest.newBuilder().setVmId(id).build());
    return Bench.ms(t0, launched);
  }

  private static long awaitStamp(Map<String, Long> stamps, String key, String what) {
    return Await.atMost(Duration.ofSeconds(60)).every(Duration.ofMillis(1))
        .until(() -> stamps.get(key), Objects::nonNull, none -> "no LAUNCHED for " + what);
  }

  static Node awaitReady(Clients cl, SocketAddress cp) {
    return Await.atMost(Duration.ofSeconds(30)).every(Duration.ofMillis(50)).until(() -> cl.callSync(cp,
            VmServiceGrpcClient.ListNodes, ListNodesRequest.getDefaultInstance()).getNodesList().stream()
            .filter(n -> n.getState() == NodeState.NODE_STATE_READY).findFirst().orElse(null),
        Objects::nonNull, none -> "the agent's node did not become READY");
  }

  private void stat(String what, double[] v) {
    report.f("%-56s %8.1f %8.1f %8.1f %8.1f", what, Bench.quantile(v, 0.5), Bench.quantile(v, 0.95), Bench.min(v),
        Bench.max(v));
  }

  /** The e2e tests' lsi VM, as the node agent benchmark launches it. */
  static VmSpec spec(String name, String image) {
    return VmSpec.newBuilder().setName(name).setMemoryMib(64)
        .addDevices(ProxiedDevice.newBuilder().setId("lsi0").setDriver("lsi53c895a")
            .addDisks(Disk.newBuilder().setId("boot").setImage(image)))
        .build();
  }
}
