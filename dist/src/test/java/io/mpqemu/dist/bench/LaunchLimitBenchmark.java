package io.mpqemu.dist.bench;

import static org.assertj.core.api.Assertions.assertThat;

import io.mpqemu.agent.AgentConfig;
import io.mpqemu.agent.NodeAgentVerticle;
import io.mpqemu.agent.bench.BareLauncher;
import io.mpqemu.agent.confine.Confinement;
import io.mpqemu.agent.confine.ConfinementSettings;
import io.mpqemu.agent.confine.UidRange;
import io.mpqemu.agent.process.ProcessScanner;
import io.mpqemu.agent.process.ProcessTable;
import io.mpqemu.agent.qemu.BootImage;
import io.mpqemu.agent.qemu.QemuCommandLine.Accelerator;
import io.mpqemu.controlplane.bench.Bench;
import io.mpqemu.controlplane.bench.Bench.Clients;
import io.mpqemu.controlplane.bench.Bench.ControlPlane;
import io.mpqemu.controlplane.bench.Bench.Report;
import io.mpqemu.spec.NodeLimits;
import io.mpqemu.testing.Await;
import io.mpqemu.testing.UidRanges;
import io.mpqemu.v1.AgentDeleteVmRequest;
import io.mpqemu.v1.AgentStopVmRequest;
import io.mpqemu.v1.AgentVm;
import io.mpqemu.v1.CreateVmRequest;
import io.mpqemu.v1.DeleteVmRequest;
import io.mpqemu.v1.DesiredState;
import io.mpqemu.v1.EventType;
import io.mpqemu.v1.LaunchVmRequest;
import io.mpqemu.v1.Node;
import io.mpqemu.v1.NodeAgentServiceGrpcClient;
import io.mpqemu.v1.Phase;
import io.mpqemu.v1.Vm;
import io.mpqemu.v1.VmEvent;
import io.mpqemu.v1.VmRef;
import io.mpqemu.v1.VmServiceGrpcClient;
import io.mpqemu.v1.VmSpec;
import io.mpqemu.v1.WatchEventsRequest;
import io.mpqemu.wire.BusAddresses;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.json.JsonObject;
import io.vertx.core.net.SocketAddress;
import io.vertx.grpc.client.GrpcClientRequest;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.junit.jupiter.api.Test;

/**
 * Launch at the physical limit: the control plane and the agent against an honest bare launcher.
 *
 * <p>Run: {@code mvn -B -o verify -Pbench -pl dist -Dsurefire.failIfNoSpecifiedTests=false -Dtest=LaunchLimitBenchmark}
 * (real QEMU). Knobs: {@code -Dbench.runs=20}, {@code -Dbench.warmup=3}, {@code -Dbench.burst=32} (0 skips the
 * bursts), {@code -Dbench.warmupBursts=20}, {@code -Dbench.burstRounds=5}, {@code -Dbench.accelerator=auto|kvm|tcg},
 * {@code -Dbench.dir=/tmp}.
 *
 * <p><b>Warm-up</b>: the JVM the control plane and the agent run in compiles their code as it runs it; a
 * freshly started one spends more CPU on its JIT compiler than on launching (measured: 4.8 core-seconds of
 * compiler threads against 1.7 of event loops over the first 150 launches), and on two cores that CPU is taken
 * from the QEMU processes starting. A control plane serves for days, so the figures are taken at its steady
 * state: {@code bench.warmupBursts} bursts through each launcher first, unmeasured but reported with the JIT
 * time they took, then the single launches (after their own {@code bench.warmup}), then the measured bursts.
 *
 * <p><b>The baseline</b> ({@link BareLauncher}) does only what a launch needs, with the agent's mechanics: the
 * same argv, the same socketpairs and descriptors, the same confinement (a {@link Confinement} of its own:
 * a uid block and the VM's cgroups from the same {@code prepare}, the same jail command in front of every
 * argv), the QMP socket made listening before QEMU starts (no polling), getfd, device_add, cont; no gRPC, no
 * events, no state. It runs on the accelerator the agent picked, on the same boot-sector raw image.
 *
 * <p><b>Single launches</b>, interleaved (bare, agent, control plane; the order rotates each run): the bare
 * launcher to cont answered; the agent from LaunchVm sent to its LAUNCHED event on the bus; the control plane
 * from CreateVm (desired RUNNING) sent to LAUNCHED on a WatchEvents stream opened before.
 *
 * <p><b>Bursts</b>: {@code bench.burst} VMs at once, each on a thread of its own for the bare launcher, and
 * as many CreateVm sent at once to the control plane; the time until the last is RUNNING (cont answered;
 * LAUNCHED on WatchEvents), with the JVM's CPU time and heap while it ran (the control plane and the agent
 * share this JVM, the embedded shape).
 */
class LaunchLimitBenchmark {

  static final int RUNS = Integer.getInteger("bench.runs", 20);
  static final int WARMUP = Integer.getInteger("bench.warmup", 3);
  static final int BURST = Integer.getInteger("bench.burst", 32);
  static final int BURST_ROUNDS = Integer.getInteger("bench.burstRounds", 5);
  /** Bursts of each launcher run first, unmeasured: the JIT compiles the launch paths (see the report's JIT column). */
  static final int WARMUP_BURSTS = Integer.getInteger("bench.warmupBursts", 20);
  /** A pause after each single launch and its removal, the same for all three launchers. */
  static final Duration SETTLE = Duration.ofMillis(Integer.getInteger("bench.settleMs", 200));
  static final String ACCELERATOR = System.getProperty("bench.accelerator", "auto");
  static final String MESSAGE = "mpqemu launch limit bench";

  private final Report report = new Report();
  private Path images;
  /** First arrival on the bus of (vm id, event type[, process]). */
  private final Map<String, Long> bus = new ConcurrentHashMap<>();
  /** First arrival on WatchEvents of (vm id, event type). */
  private final Map<String, Long> watched = new ConcurrentHashMap<>();

  private record Single(double bare, double agent, double cp, double[] bareSteps, double[] agentSteps, double[] cpSteps) {}

  @Test
  void launchLimit() throws Exception {
    Path root = Files.createTempDirectory(Path.of(Bench.DIR), "mpqemu-limit-");
    Vertx vertx = Vertx.builder().with(new VertxOptions().setPreferNativeTransport(true)).build();
    Vertx bareVertx = Vertx.builder().with(new VertxOptions().setPreferNativeTransport(true)).build();
    Confinement bareJail = Confinement.forAgent(ConfinementSettings.DEFAULT.withUids(UidRange.parse(UidRanges.next())),
        Files.createDirectories(root.resolve("bare-jail")), Path.of("qemu-system-x86_64"), 8);
    try (Clients cl = new Clients()) {
      report.line("== Launch at the physical limit: control plane and agent against a bare launcher (mpqemu LaunchLimitBenchmark) ==");
      report.line("dirs under " + root + " (" + Files.getFileStore(root).type() + "); host: " + Bench.host());
      images = Files.createDirectories(root.resolve("images"));
      BootImage.writeRaw(images.resolve("boot.img"), MESSAGE, false);
      vertx.eventBus().<JsonObject>consumer(BusAddresses.VM_EVENTS, m -> {
        long now = System.nanoTime();
        JsonObject e = m.body();
        String process = e.getJsonObject("process", new JsonObject()).getString("name", "");
        bus.putIfAbsent(e.getString("vmId", "") + "/" + e.getString("type") + "/" + process, now);
        bus.putIfAbsent(e.getString("vmId", "") + "/" + e.getString("type"), now);
      });
      ControlPlane cp = new ControlPlane(vertx, root.resolve("cp"), root.resolve("cp.sock"));
      Path agentDir = root.resolve("agent");
      Path agentSocket = agentDir.resolve("agent.sock");
      AgentConfig config = new AgentConfig("bench-node", List.of("unix:" + agentSocket), agentDir.resolve("state"),
          images, Path.of("qemu-system-x86_64"), ACCELERATOR, NodeLimits.defaults(), 16384, Math.max(64, 2 * BURST),
          Map.of(), Duration.ofSeconds(30), Duration.ofSeconds(5), 1024 * 1024, "", Duration.ofMillis(500))
          .withConfinement(ConfinementSettings.DEFAULT.withUids(UidRange.parse(UidRanges.next())));
      Await.result(vertx.deployVerticle(new NodeAgentVerticle(config)), Bench.WAIT);
      SocketAddress agent = SocketAddress.domainSocketAddress(agentSocket.toString());
      Node node = CreateToRunningBenchmark.awaitReady(cl, cp.address());
      Accelerator accel = Accelerator.valueOf(node.getInfo().getAccelerator().toUpperCase(java.util.Locale.ROOT));
      report.f("node %s READY: accelerator %s (asked: %s), %s; confinement: %s", node.getId(), accel, ACCELERATOR,
          node.getInfo().getQemuVersion(), bareJail.detail());
      BareLauncher bare = new BareLauncher(bareVertx, root.resolve("bare"), bareJail);
      GrpcClientRequest<WatchEventsRequest, VmEvent> watch = Clients.watch(cl.grpc, cp.address(), 0,
          e -> watched.putIfAbsent(e.getVmId() + "/" + e.getType(), System.nanoTime()));

      if (BURST > 0 && WARMUP_BURSTS > 0) {
        report.f("warm-up: %d bursts of %d through each launcher, not measured (the JIT compiles the launch paths)",
            WARMUP_BURSTS, BURST);
        for (int r = 0; r < WARMUP_BURSTS; r++) {
          burstBare(bare, accel, "wb" + r);
          burstCp(cl, cp, "wc" + r);
        }
        report.line("");
      }
      report.f("%d warm-up + %d measured single launches of each, interleaved (order rotating); VM: 64 MiB, 1 vCPU, pc,"
          + " one lsi53c895a in a confined device process with one raw boot disk, read-only", WARMUP, RUNS);
      report.f("%-8s %10s %10s %10s %14s", "run", "bare", "agent", "cp", "(cp: on bus)");
      List<Single> singles = new ArrayList<>();
      for (int i = 0; i < WARMUP + RUNS; i++) {
        double[] b = null;
        double[] a = null;
        double[] c = null;
        for (int k = 0; k < 3; k++) {
          switch ((i + k) % 3) {
            case 0 -> b = bareRun(bare, "b-" + i, accel);
            case 1 -> a = agentRun(cl, agent, "a-" + i);
            default -> c = cpRun(cl, cp.address(), "c-" + i);
          }
          Thread.sleep(SETTLE.toMillis()); // what a delete leaves to finish in the background does not overlap the next
        }
        boolean warm = i < WARMUP;
        if (!warm) {
          singles.add(new Single(b[b.length - 1], a[a.length - 1], c[c.length - 1], b, a, c));
        }
        report.f("%-8s %10.1f %10.1f %10.1f %14.1f", warm ? "warm-" + i : "run-" + (i - WARMUP), b[b.length - 1],
            a[a.length - 1], c[c.length - 1], c[c.length - 2]);
      }
      summarizeSingles(singles);

      if (BURST > 0) {
        report.line("");
        report.f("bursts of %d VMs at once: %d rounds of bare, control plane", BURST, BURST_ROUNDS);
        double[] bareTimes = new double[BURST_ROUNDS];
        double[] cpTimes = new double[BURST_ROUNDS];
        for (int r = 0; r < BURST_ROUNDS; r++) {
          bareTimes[r] = burstBare(bare, accel, "bb" + r);
          cpTimes[r] = burstCp(cl, cp, "bc" + r);
        }
        for (int r = 0; r < BURST_ROUNDS; r++) {
          report.f("burst %d: bare %.0f ms (%.1f launches/s), control plane %.0f ms (%.1f launches/s): %.2fx the bare"
              + " launcher's launches per second (target: at least 0.8)", r, bareTimes[r], BURST * 1000 / bareTimes[r],
              cpTimes[r], BURST * 1000 / cpTimes[r], bareTimes[r] / cpTimes[r]);
        }
        report.f("bursts, medians: bare %.0f ms, control plane %.0f ms: %.2fx the bare launcher's launches per second",
            Bench.quantile(bareTimes, 0.5), Bench.quantile(cpTimes, 0.5),
            Bench.quantile(bareTimes, 0.5) / Bench.quantile(cpTimes, 0.5));
      }
      watch.cancel();
    } finally {
      try {
        Await.result(vertx.close(), Bench.WAIT);
        Await.result(bareVertx.close(), Bench.WAIT);
      } finally {
        ProcessTable.killAndAwait(new ProcessScanner().under(root), Duration.ofSeconds(10));
        bareJail.close();
        Bench.deleteTree(root);
        report.save("bench-launch-limit.txt");
      }
    }
  }

  // ---------------------------------------------------------------- single launches

  /** [dir+jail, main started, device started, QMP connected, proxies added, cont answered] in ms. */
  private double[] bareRun(BareLauncher bare, String id, Accelerator accel) throws Exception {
    long t0 = System.nanoTime();
    BareLauncher.Vm vm = bare.launch(id, spec(id), Map.of("boot", images.resolve("boot.img")), accel);
    try {
      return new double[] {Bench.ms(t0, vm.dirAt), Bench.ms(t0, vm.mainStartedAt), Bench.ms(t0, vm.devicesStartedAt),
          Bench.ms(t0, vm.qmpConnectedAt), Bench.ms(t0, vm.proxiesAddedAt), Bench.ms(t0, vm.runningAt)};
    } finally {
      bare.destroy(vm);
    }
  }

  /** [LAUNCH_STARTED, main started, device started, LAUNCHED] on the bus, in ms from LaunchVm sent. */
  private double[] agentRun(Clients cl, SocketAddress agent, String id) {
    long t0 = System.nanoTime();
    AgentVm vm = cl.callSync(agent, NodeAgentServiceGrpcClient.LaunchVm, LaunchVmRequest.newBuilder().setVmId(id)
        .setSpec(spec(id)).build());
    assertThat(vm.getPhase()).isEqualTo(Phase.PHASE_RUNNING);
    double[] steps = launchSteps(id, t0);
    cl.callSync(agent, NodeAgentServiceGrpcClient.StopVm, AgentStopVmRequest.newBuilder().setVmId(id).setForce(true).build());
    cl.callSync(agent, NodeAgentServiceGrpcClient.DeleteVm, AgentDeleteVmRequest.newBuilder().setVmId(id).build());
    return steps;
  }

  /** [SCHEDULED on the watch, LAUNCH_STARTED, main started, device started, LAUNCHED on the bus, LAUNCHED on the watch]. */
  private double[] cpRun(Clients cl, SocketAddress cp, String name) {
    long t0 = System.nanoTime();
    Vm vm = cl.callSync(cp, VmServiceGrpcClient.CreateVm, CreateVmRequest.newBuilder().setSpec(spec(name))
        .setDesiredState(DesiredState.RUNNING).build());
    long launched = await(watched, vm.getId() + "/" + EventType.LAUNCHED);
    double[] agentSteps = launchSteps(vm.getId(), t0);
    double[] steps = new double[agentSteps.length + 2];
    steps[0] = Bench.ms(t0, watched.getOrDefault(vm.getId() + "/" + EventType.SCHEDULED, t0));
    System.arraycopy(agentSteps, 0, steps, 1, agentSteps.length);
    steps[steps.length - 1] = Bench.ms(t0, launched);
    cl.callSync(cp, VmServiceGrpcClient.DeleteVm, DeleteVmRequest.newBuilder().setVm(VmRef.newBuilder().setId(vm.getId()))
        .build());
    return steps;
  }

  private double[] launchSteps(String vmId, long t0) {
    return new double[] {Bench.ms(t0, await(bus, vmId + "/LAUNCH_STARTED")),
        Bench.ms(t0, await(bus, vmId + "/PROCESS_STARTED/main")), Bench.ms(t0, await(bus, vmId + "/PROCESS_STARTED/lsi0")),
        Bench.ms(t0, await(bus, vmId + "/LAUNCHED"))};
  }

  private void summarizeSingles(List<Single> s) {
    double[] b = s.stream().mapToDouble(Single::bare).toArray();
    double[] a = s.stream().mapToDouble(Single::agent).toArray();
    double[] c = s.stream().mapToDouble(Single::cp).toArray();
    report.line("");
    report.f("N = %d each (ms)                                          median      p95      min      max", s.size());
    stat("bare launcher: start -> cont answered", b);
    stat("agent: LaunchVm -> LAUNCHED on the bus", a);
    stat("control plane: CreateVm -> LAUNCHED on WatchEvents", c);
    report.f("ratio agent / bare:         median %.2f, p95 %.2f (as close to 1.0 as can be shown)",
        Bench.quantile(a, 0.5) / Bench.quantile(b, 0.5), Bench.quantile(a, 0.95) / Bench.quantile(b, 0.95));
    report.f("ratio control plane / bare: median %.2f, p95 %.2f (targets: at most 1.25 and 1.5)",
        Bench.quantile(c, 0.5) / Bench.quantile(b, 0.5), Bench.quantile(c, 0.95) / Bench.quantile(b, 0.95));
    double[] spreadB = {Bench.quantile(b, 0.25), Bench.quantile(b, 0.75)};
    double[] spreadA = {Bench.quantile(a, 0.25), Bench.quantile(a, 0.75)};
    double[] spreadC = {Bench.quantile(c, 0.25), Bench.quantile(c, 0.75)};
    report.f("spread (p25..p75): bare %.1f..%.1f, agent %.1f..%.1f, control plane %.1f..%.1f", spreadB[0], spreadB[1],
        spreadA[0], spreadA[1], spreadC[0], spreadC[1]);
    report.line("");
    report.line("where the time goes (medians of each run's stamp, ms from that launcher's start)");
    String[] bareNames = {"state dir + jail (uids, cgroups)", "main QEMU spawned", "device process spawned",
        "QMP greeting + capabilities", "getfd + device_add answered", "cont answered"};
    for (int i = 0; i < bareNames.length; i++) {
      int k = i;
      report.f("  bare:  %-48s %8.1f", bareNames[i], Bench.quantile(s.stream().mapToDouble(r -> r.bareSteps()[k]).toArray(), 0.5));
    }
    String[] agentNames = {"LAUNCH_STARTED on the bus", "PROCESS_STARTED main on the bus", "PROCESS_STARTED device on the bus",
        "LAUNCHED on the bus"};
    for (int i = 0; i < agentNames.length; i++) {
      int k = i;
      report.f("  agent: %-48s %8.1f", agentNames[i], Bench.quantile(s.stream().mapToDouble(r -> r.agentSteps()[k]).toArray(), 0.5));
    }
    String[] cpNames = {"SCHEDULED on WatchEvents", "LAUNCH_STARTED on the bus", "PROCESS_STARTED main on the bus",
        "PROCESS_STARTED device on the bus", "LAUNCHED on the bus", "LAUNCHED on WatchEvents"};
    for (int i = 0; i < cpNames.length; i++) {
      int k = i;
      report.f("  cp:    %-48s %8.1f", cpNames[i], Bench.quantile(s.stream().mapToDouble(r -> r.cpSteps()[k]).toArray(), 0.5));
    }
  }

  // ---------------------------------------------------------------- bursts

  /** {@link #BURST} bare launches at once, each on a thread of its own; ms until the last cont answered. */
  private double burstBare(BareLauncher bare, Accelerator accel, String tag) throws Exception {
    ExecutorService threads = Executors.newFixedThreadPool(BURST);
    List<java.util.concurrent.Future<BareLauncher.Vm>> launches = new ArrayList<>();
    Usage usage = Usage.start();
    long t0 = System.nanoTime();
    try {
      for (int i = 0; i < BURST; i++) {
        String id = tag + "-" + i;
        launches.add(threads.submit(() -> bare.launch(id, spec(id), Map.of("boot", images.resolve("boot.img")), accel)));
      }
      long last = t0;
      for (java.util.concurrent.Future<BareLauncher.Vm> f : launches) {
        last = Math.max(last, f.get().runningAt);
      }
      double ms = Bench.ms(t0, last);
      report.f("  %s: bare, %d at once: all running in %.0f ms; %s", tag, BURST, ms, usage.since());
      return ms;
    } finally {
      // every VM that launched goes, also when another launch of the burst failed
      for (java.util.concurrent.Future<BareLauncher.Vm> f : launches) {
        try {
          bare.destroy(f.get());
        } catch (java.util.concurrent.ExecutionException failed) {
          // its launch cleaned up after itself
        }
      }
      threads.shutdown();
    }
  }

  /** {@link #BURST} CreateVm sent at once; ms until the last LAUNCHED arrived on WatchEvents. */
  private double burstCp(Clients cl, ControlPlane controlPlane, String tag) {
    SocketAddress cp = controlPlane.address();
    long commits = controlPlane.store().groupCommits();
    long writes = controlPlane.store().groupedChanges();
    Usage usage = Usage.start();
    long t0 = System.nanoTime();
    List<Future<Vm>> creates = new ArrayList<>();
    for (int i = 0; i < BURST; i++) {
      creates.add(cl.call(cp, VmServiceGrpcClient.CreateVm, CreateVmRequest.newBuilder().setSpec(spec(tag + "-" + i))
          .setDesiredState(DesiredState.RUNNING).build()));
    }
    List<String> ids = new ArrayList<>();
    long last = t0;
    for (Future<Vm> f : creates) {
      String id = Await.result(f, Bench.WAIT).getId();
      ids.add(id);
    }
    for (String id : ids) {
      last = Math.max(last, await(watched, id + "/" + EventType.LAUNCHED));
    }
    double ms = Bench.ms(t0, last);
    report.f("  %s: control plane, %d CreateVm at once: all LAUNCHED on WatchEvents in %.0f ms; %s; the store's %d"
        + " transactions (one fsync each) carried %d writes", tag, BURST, ms, usage.since(),
        controlPlane.store().groupCommits() - commits, controlPlane.store().groupedChanges() - writes);
    List<Future<?>> deletes = new ArrayList<>();
    for (String id : ids) {
      deletes.add(cl.call(cp, VmServiceGrpcClient.DeleteVm, DeleteVmRequest.newBuilder().setVm(VmRef.newBuilder().setId(id))
          .build()));
    }
    deletes.forEach(f -> Await.result(f, Bench.WAIT));
    Await.atMost(Duration.ofSeconds(60)).every(Duration.ofMillis(50)).until(() -> cl.callSync(cp,
            VmServiceGrpcClient.ListVms, io.mpqemu.v1.ListVmsRequest.getDefaultInstance()).getVmsCount(), n -> n == 0,
        n -> n + " VMs left after the burst's deletes");
    return ms;
  }

  /** This JVM's CPU time and heap from a start (the control plane and the agent run in it). */
  private record Usage(long cpuNanos, long wallNanos, long jitMillis) {

    static Usage start() {
      System.gc();
      return new Usage(cpu(), System.nanoTime(), jit());
    }

    String since() {
      double cpuS = (cpu() - cpuNanos) / 1e9;
      double wallS = (System.nanoTime() - wallNanos) / 1e9;
      long heap = ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed() >> 20;
      return String.format(java.util.Locale.ROOT, "JVM CPU %.2f s over %.2f s (%.0f%% of one core), JIT compilers"
          + " busy %.2f s, heap used %d MiB", cpuS, wallS, 100 * cpuS / wallS, (jit() - jitMillis) / 1e3, heap);
    }

    /** The time the JIT compiler threads spent compiling, summed over them (elapsed, not CPU), in ms. */
    private static long jit() {
      return ManagementFactory.getCompilationMXBean().getTotalCompilationTime();
    }

    private static long cpu() {
      return ((com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean()).getProcessCpuTime();
    }
  }

  // ---------------------------------------------------------------- plumbing

  private static long await(Map<String, Long> stamps, String key) {
    return Await.atMost(Duration.ofSeconds(60)).every(Duration.ofMillis(1))
        .until(() -> stamps.get(key), Objects::nonNull, none -> "never arrived: " + key);
  }

  private void stat(String what, double[] v) {
    report.f("%-56s %8.1f %8.1f %8.1f %8.1f", what, Bench.quantile(v, 0.5), Bench.quantile(v, 0.95), Bench.min(v),
        Bench.max(v));
  }

  /** The node agent benchmark's VM, its boot disk read-only so that a burst's VMs share one image. */
  private static VmSpec spec(String name) {
    VmSpec spec = CreateToRunningBenchmark.spec(name, "boot.img");
    return spec.toBuilder().setDevices(0, spec.getDevices(0).toBuilder()
        .setDisks(0, spec.getDevices(0).getDisks(0).toBuilder().setReadOnly(true))).build();
  }
}
