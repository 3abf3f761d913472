package io.mpqemu.agent.bench;

import static org.assertj.core.api.Assertions.assertThat;

import io.mpqemu.agent.AgentConfig;
import io.mpqemu.agent.confine.Confinement;
import io.mpqemu.agent.confine.ConfinementSettings;
import io.mpqemu.agent.confine.UidRange;
import io.mpqemu.agent.e2e.AgentHarness;
import io.mpqemu.agent.process.ProcessScanner;
import io.mpqemu.agent.process.ProcessTable;
import io.mpqemu.agent.qemu.BootImage;
import io.mpqemu.agent.qemu.QemuCommandLine.Accelerator;
import io.mpqemu.agent.state.VmPaths;
import io.mpqemu.testing.Await;
import io.mpqemu.testing.ServiceJvm;
import io.mpqemu.testing.UidRanges;
import io.mpqemu.v1.AgentVm;
import io.mpqemu.v1.Disk;
import io.mpqemu.v1.NodeInfo;
import io.mpqemu.v1.Phase;
import io.mpqemu.v1.ProxiedDevice;
import io.mpqemu.v1.VmSpec;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.ToDoubleFunction;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * Launch latency of the node agent against a bare launcher, and the agent's heap with 20 VMs.
 *
 * <p>Run: {@code mvn -B -o verify -Pbench -pl node-agent -am} (the default build never runs a
 * {@code *Benchmark} class). Knobs: {@code -Dbench.runs=20} measured runs of each launcher after
 * {@code -Dbench.warmup=3}, {@code -Dbench.heapVms=20}, {@code -Dbench.accelerator=auto|kvm|tcg}, {@code -Dbench.dir=/tmp}
 * (the file system of the state directories; the agent's state writes fsync there).
 *
 * <p>Latency: an agent in this JVM (gRPC over its UNIX socket, events, state files) and the bare
 * launcher ({@link BareLauncher}: the same processes, argv and wiring, nothing else) launch the same
 * one-lsi53c895a VM in turn: warm-ups of each, then agent run i, bare run i, agent run i+1, ... so
 * that machine noise hits both alike. Agent: from sending LaunchVm to the LAUNCHED event's arrival on
 * the event bus (phase RUNNING), and to the boot sector's line in the console log. Bare: from its
 * first step to cont's reply, and to the same line. The console file is polled every 2 ms by the same
 * {@link ConsoleWatch} in both. Each VM is then stopped (agent: StopVm force + DeleteVm; bare: SIGKILL
 * and clean-up) before the other launcher starts.
 *
 * <p>Heap: an agent in a JVM of its own with -Xmx128m launches {@code bench.heapVms} VMs through
 * gRPC; once all run, {@code jcmd GC.run} then {@code jcmd GC.heap_info} ("used") and VmRSS from
 * /proc/pid/status.
 */
class LaunchLatencyBenchmark {

  static final int WARMUP = Integer.getInteger("bench.warmup", 3);
  static final int RUNS = Integer.getInteger("bench.runs", 20);
  static final int HEAP_VMS = Integer.getInteger("bench.heapVms", 20);
  static final String ACCELERATOR = System.getProperty("bench.accelerator", "auto");
  static final String HEAP_XMX = System.getProperty("bench.heapXmx", "128m");
  /** Where the state directories (and images) live: the agent's state writes fsync there. */
  static final String DIR = System.getProperty("bench.dir", "/tmp");
  static final String MESSAGE = "mpqemu bench guest booted";
  static final long CONSOLE_WAIT_MILLIS = 60_000;
  private static final Pattern LAUNCHED_IN = Pattern.compile("launched in (\\d+) ms");

  private final PrintStream out = System.out;
  private final StringBuilder report = new StringBuilder();
  private double grpcRoundTrip = Double.NaN;

  /** One agent launch, in ms from sending LaunchVm. */
  record AgentRun(double running, double console, double reply, double launchStarted, double deviceStarted,
      double mainStarted, double launchedIn) {}

  /** One bare launch, in ms from its first step. */
  record BareRun(double running, double console, double dir, double pairs, double deviceStarted, double mainStarted,
      double qmpConnected, double proxiesAdded) {}

  @Test
  void launchLatencyAndHeap() throws Exception {
    Path root = Files.createTempDirectory(Path.of(DIR), "mpqemu-bench-");
    try {
      Files.createDirectories(root.resolve("images"));
      line("== Node agent: launch latency and heap (mpqemu LaunchLatencyBenchmark) ==");
      line("state directories under " + root + " (" + Files.getFileStore(root).type() + ")");
      line("host: " + Runtime.getRuntime().availableProcessors() + " CPUs, " + cpuModel() + "; java "
          + System.getProperty("java.version") + " (" + System.getProperty("java.vm.name") + ")");
      latency(root);
      if (HEAP_VMS > 0) {
        heap(root);
      }
    } finally {
      ProcessTable.killAndAwait(new ProcessScanner().under(root), Duration.ofSeconds(10));
      deleteTree(root);
      Path saved = Path.of("target", "bench-launch-latency.txt");
      Files.createDirectories(saved.getParent());
      Files.writeString(saved, report.toString());
      out.println("(this report is also in " + saved.toAbsolutePath() + ")");
    }
  }

  // ---------------------------------------------------------------- latency

  private void latency(Path root) throws Exception {
    List<AgentRun> agentRuns = new ArrayList<>();
    List<BareRun> bareRuns = new ArrayList<>();
    Vertx bareVertx = Vertx.builder().with(new VertxOptions().setPreferNativeTransport(true)).build();
    Confinement bareJail = null;
    // the agent's root straight under bench.dir: a deeper one makes its VMs' QMP socket paths too long
    try (AgentHarness agent = new AgentHarness(root.getParent()).startInProcess(LaunchLatencyBenchmark::accelerator)) {
      BusArrivals arrivals = new BusArrivals(agent.vertx());
      NodeInfo info = agent.nodeInfo();
      Accelerator accel = Accelerator.valueOf(info.getAccelerator().toUpperCase(Locale.ROOT));
      line("qemu: " + info.getQemuVersion() + "; accelerator: " + accel.qemuName() + " (asked: " + ACCELERATOR + ")");
      line("latency: " + WARMUP + " warm-up + " + RUNS + " measured launches of each launcher, interleaved; "
          + "VM: 64 MiB, 1 vCPU, pc, one lsi53c895a with one raw boot disk; console polled every "
          + ConsoleWatch.POLL_MILLIS + " ms");
      BootImage.writeRaw(agent.imageRoot.resolve("agent.img"), MESSAGE, false);
      Path bareImage = agent.imageRoot.resolve("bare.img");
      BootImage.writeRaw(bareImage, MESSAGE, false);
      // the bare launcher confines as the agent does (its own uid range), so that both pay for the jail
      bareJail = info.getConfinement() == io.mpqemu.v1.Confinement.CONFINEMENT_ON
          ? Confinement.forAgent(ConfinementSettings.DEFAULT.withUids(UidRange.parse(UidRanges.next())),
              Files.createDirectories(agent.root.resolve("bare-jail")), Path.of("qemu-system-x86_64"), 8)
          : null;
      line("bare launcher: " + (bareJail == null ? "unconfined, as the agent" : "confined as the agent: " + bareJail.detail()));
      BareLauncher bare = new BareLauncher(bareVertx, agent.root.resolve("bare-state"), bareJail);
      line(String.format(Locale.ROOT, "%-8s %10s %10s %10s | %10s %10s", "run", "agent run", "agent con",
          "agent rply", "bare run", "bare con"));
      for (int i = 0; i < WARMUP + RUNS; i++) {
        AgentRun a = agentRun(agent, arrivals, "a-" + i, spec("a-" + i, "agent.img"));
        BareRun b = bareRun(bare, "b-" + i, spec("b-" + i, "bare.img"), Map.of("boot", bareImage.toRealPath()), accel);
        boolean warm = i < WARMUP;
        if (!warm) {
          agentRuns.add(a);
          bareRuns.add(b);
        }
        line(String.format(Locale.ROOT, "%-8s %10.1f %10.1f %10.1f | %10.1f %10.1f", (warm ? "warm-" + i : "run-" + (i - WARMUP)),
            a.running, a.console, a.reply, b.running, b.console));
      }
      double[] rtt = new double[50];
      for (int i = 0; i < rtt.length; i++) {
        long t = System.nanoTime();
        agent.nodeInfo();
        rtt[i] = ms(t, System.nanoTime());
      }
      Arrays.sort(rtt);
      grpcRoundTrip = quantile(rtt, 0.5);
    } finally {
      AgentHarness.result(bareVertx.close());
      if (bareJail != null) {
        bareJail.close();
      }
    }
    summarize(agentRuns, bareRuns);
  }

  static AgentConfig accelerator(AgentConfig c) {
    return new AgentConfig(c.nodeId(), c.listen(), c.stateDir(), c.imageRoot(), c.qemuBinary(), ACCELERATOR, c.limits(),
        c.memoryMib(), c.maxVms(), c.labels(), c.stopTimeout(), c.exitDeadline(), c.consoleLogMaxBytes())
        .withConfinement(c.confinement());
  }

  private AgentRun agentRun(AgentHarness agent, BusArrivals arrivals, String vmId, VmSpec spec) throws Exception {
    VmPaths paths = VmPaths.of(agent.stateDir, vmId);
    AtomicLong replyAt = new AtomicLong();
    long t0;
    long consoleAt;
    try (ConsoleWatch watch = ConsoleWatch.start(paths.consoleLog(), MESSAGE)) {
      t0 = System.nanoTime();
      Future<AgentVm> launched = agent.launchAsync(vmId, spec).onSuccess(vm -> replyAt.set(System.nanoTime()));
      AgentVm vm = AgentHarness.result(launched);
      assertThat(vm.getPhase()).isEqualTo(Phase.PHASE_RUNNING);
      consoleAt = watch.awaitSeen(CONSOLE_WAIT_MILLIS);
    }
    BusArrivals.Arrival running = awaitArrival(arrivals, vmId, "LAUNCHED", null);
    BusArrivals.Arrival started = awaitArrival(arrivals, vmId, "LAUNCH_STARTED", null);
    BusArrivals.Arrival device = awaitArrival(arrivals, vmId, "PROCESS_STARTED", spec.getDevices(0).getId());
    BusArrivals.Arrival main = awaitArrival(arrivals, vmId, "PROCESS_STARTED", VmPaths.MAIN);
    Matcher m = LAUNCHED_IN.matcher(running.event().getString("message", ""));
    double launchedIn = m.find() ? Double.parseDouble(m.group(1)) : Double.NaN;
    agent.stop(vmId, 0, true);
    agent.delete(vmId, false);
    arrivals.forget(vmId);
    return new AgentRun(ms(t0, running.nanos()), ms(t0, consoleAt), ms(t0, replyAt.get()), ms(t0, started.nanos()),
        ms(t0, device.nanos()), ms(t0, main.nanos()), launchedIn);
  }

  static BusArrivals.Arrival awaitArrival(BusArrivals arrivals, String vmId, String type, String process) {
    return Await.atMost(Duration.ofSeconds(10)).every(Duration.ofMillis(1))
        .until(() -> arrivals.first(vmId, type, process), Objects::nonNull,
            none -> "no " + type + " event for " + vmId + "; events: " + arrivals.of(vmId));
  }

  private BareRun bareRun(BareLauncher bare, String vmId, VmSpec spec, Map<String, Path> images, Accelerator accel)
      throws Exception {
    BareLauncher.Vm vm = null;
    try (ConsoleWatch watch = ConsoleWatch.start(bare.paths(vmId).consoleLog(), MESSAGE)) {
      long t0 = System.nanoTime();
      vm = bare.launch(vmId, spec, images, accel);
      long consoleAt = watch.awaitSeen(CONSOLE_WAIT_MILLIS);
      return new BareRun(ms(t0, vm.runningAt), ms(t0, consoleAt), ms(t0, vm.dirAt), ms(t0, vm.pairsAt),
          ms(t0, vm.devicesStartedAt), ms(t0, vm.mainStartedAt), ms(t0, vm.qmpConnectedAt), ms(t0, vm.proxiesAddedAt));
    } finally {
      if (vm != null) {
        bare.destroy(vm);
      }
    }
  }

  private void summarize(List<AgentRun> agent, List<BareRun> bare) {
    int n = agent.size();
    line("");
    line("launch latency, N = " + n + " each (ms)    median      p95     mean      min      max");
    stat("agent: LaunchVm -> LAUNCHED (RUNNING)", agent, AgentRun::running);
    stat("bare:  start -> cont answered (RUNNING)", bare, BareRun::running);
    stat("agent: LaunchVm -> boot line on console", agent, AgentRun::console);
    stat("bare:  start -> boot line on console", bare, BareRun::console);
    stat("agent: LaunchVm -> LaunchVm answered", agent, AgentRun::reply);
    double aRun = median(agent, AgentRun::running);
    double bRun = median(bare, BareRun::running);
    double aRun95 = p95(agent, AgentRun::running);
    double bRun95 = p95(bare, BareRun::running);
    double aCon = median(agent, AgentRun::console);
    double bCon = median(bare, BareRun::console);
    double aCon95 = p95(agent, AgentRun::console);
    double bCon95 = p95(bare, BareRun::console);
    line("");
    line(String.format(Locale.ROOT, "ratio agent/bare, to RUNNING:      median %.2f, p95 %.2f (target: at most 1.25 -> %s)",
        aRun / bRun, aRun95 / bRun95, aRun / bRun <= 1.25 ? "MET" : "MISSED"));
    line(String.format(Locale.ROOT, "ratio agent/bare, to console line: median %.2f, p95 %.2f", aCon / bCon, aCon95 / bCon95));
    line(String.format(Locale.ROOT, "agent's extra time to RUNNING: median %.1f ms", aRun - bRun));
    line("");
    line("where the time goes (medians, ms from the start of each launch)");
    line(String.format(Locale.ROOT, "  agent: LAUNCH_STARTED arrives (gRPC, validation, image check) %8.1f", median(agent, AgentRun::launchStarted)));
    line(String.format(Locale.ROOT, "  agent: a GetNodeInfo gRPC round trip, for scale (median of 50) %8.2f", grpcRoundTrip));
    line(String.format(Locale.ROOT, "  agent: PROCESS_STARTED device arrives                         %8.1f", median(agent, AgentRun::deviceStarted)));
    line(String.format(Locale.ROOT, "  agent: PROCESS_STARTED main arrives                           %8.1f", median(agent, AgentRun::mainStarted)));
    line(String.format(Locale.ROOT, "  agent: LAUNCHED arrives                                       %8.1f", aRun));
    line(String.format(Locale.ROOT, "  agent: its own 'launched in' (first step to cont answered)    %8.1f", median(agent, AgentRun::launchedIn)));
    line(String.format(Locale.ROOT, "  bare:  state directory made                                   %8.1f", median(bare, BareRun::dir)));
    line(String.format(Locale.ROOT, "  bare:  main QEMU started                                      %8.1f", median(bare, BareRun::mainStarted)));
    line(String.format(Locale.ROOT, "  bare:  socketpair open                                        %8.1f", median(bare, BareRun::pairs)));
    line(String.format(Locale.ROOT, "  bare:  device process started                                 %8.1f", median(bare, BareRun::deviceStarted)));
    line(String.format(Locale.ROOT, "  bare:  QMP connected and negotiated                           %8.1f", median(bare, BareRun::qmpConnected)));
    line(String.format(Locale.ROOT, "  bare:  getfd + device_add answered                            %8.1f", median(bare, BareRun::proxiesAdded)));
    line(String.format(Locale.ROOT, "  bare:  cont answered                                          %8.1f", bRun));
    line("segments (medians of per-run differences, ms)                     agent     bare");
    seg("  start -> main QEMU started (it starts first)", agent, r -> r.mainStarted, bare, r -> r.mainStarted);
    seg("  main QEMU started -> device process started", agent, r -> r.deviceStarted - r.mainStarted,
        bare, r -> r.deviceStarted - r.mainStarted);
    seg("  main QEMU started -> RUNNING", agent, r -> r.running - r.mainStarted, bare, r -> r.running - r.mainStarted);
    seg("  RUNNING -> console line", agent, r -> r.console - r.running, bare, r -> r.console - r.running);
  }

  private void seg(String what, List<AgentRun> a, ToDoubleFunction<AgentRun> fa, List<BareRun> b,
      ToDoubleFunction<BareRun> fb) {
    line(String.format(Locale.ROOT, "%-60s %8.1f %8.1f", what, median(a, fa), median(b, fb)));
  }

  private <T> void stat(String what, List<T> runs, ToDoubleFunction<T> f) {
    double[] v = runs.stream().mapToDouble(f).sorted().toArray();
    line(String.format(Locale.ROOT, "%-40s %8.1f %8.1f %8.1f %8.1f %8.1f", what, quantile(v, 0.5), quantile(v, 0.95),
        Arrays.stream(v).average().orElse(Double.NaN), v[0], v[v.length - 1]));
  }

  static <T> double median(List<T> runs, ToDoubleFunction<T> f) {
    return quantile(runs.stream().mapToDouble(f).sorted().toArray(), 0.5);
  }

  static <T> double p95(List<T> runs, ToDoubleFunction<T> f) {
    return quantile(runs.stream().mapToDouble(f).sorted().toArray(), 0.95);
  }

  /** The median as the mean of the middle two for an even count; other quantiles by nearest rank. */
  static double quantile(double[] sorted, double q) {
    int n = sorted.length;
    if (q == 0.5) {
      return n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
    }
    int rank = (int) Math.ceil(q * n);
    return sorted[Math.max(0, Math.min(n - 1, rank - 1))];
  }

  // ---------------------------------------------------------------- heap

  private void heap(Path root) throws Exception {
    line("");
    line("heap: an agent in its own JVM (-Xmx" + HEAP_XMX + "), " + HEAP_VMS + " VMs launched through gRPC, one after the other");
    try (AgentHarness agent = new AgentHarness(root.getParent());
        ServiceJvm jvm = agent.startJvm(List.of("-Xmx" + HEAP_XMX), "--accelerator", ACCELERATOR)) {
      NodeInfo info = agent.nodeInfo();
      line("agent pid " + jvm.pid() + ", accelerator " + info.getAccelerator() + ", " + maxHeap(jvm.pid()));
      Map<String, Double> idle = heapFigures(jvm.pid());
      line(String.format(Locale.ROOT, "idle agent:      heap used after GC %6.1f MiB (committed %6.1f MiB), RSS %6.1f MiB",
          idle.get("used"), idle.get("committed"), idle.get("rss")));
      List<String> ids = new ArrayList<>();
      long t0 = System.nanoTime();
      for (int i = 0; i < HEAP_VMS; i++) {
        String id = "h-" + i;
        BootImage.writeRaw(agent.imageRoot.resolve(id + ".img"), MESSAGE, false);
        AgentVm vm = agent.launch(id, spec(id, id + ".img"));
        assertThat(vm.getPhase()).isEqualTo(Phase.PHASE_RUNNING);
        ids.add(id);
      }
      for (String id : ids) {
        try (ConsoleWatch w = ConsoleWatch.start(VmPaths.of(agent.stateDir, id).consoleLog(), MESSAGE)) {
          w.awaitSeen(CONSOLE_WAIT_MILLIS);
        }
      }
      NodeInfo full = agent.nodeInfo();
      int qemus = agent.qemuPids().size();
      line(String.format(Locale.ROOT, "%d VMs running (%d QEMU processes, %d MiB of guest RAM) after %.1f s; every console shows the boot line",
          full.getVmCount(), qemus, full.getAllocatedMemoryMib(), (System.nanoTime() - t0) / 1e9));
      assertThat(full.getVmCount()).isEqualTo(HEAP_VMS);
      Map<String, Double> busy = heapFigures(jvm.pid());
      line(String.format(Locale.ROOT, "with %d VMs:     heap used after GC %6.1f MiB (committed %6.1f MiB), RSS %6.1f MiB",
          HEAP_VMS, busy.get("used"), busy.get("committed"), busy.get("rss")));
      line(String.format(Locale.ROOT, "heap used with %d VMs against the 128 MiB target: %.1f MiB -> %s; per VM about %.1f KiB over idle",
          HEAP_VMS, busy.get("used"), busy.get("used") < 128 ? "MET" : "MISSED",
          (busy.get("used") - idle.get("used")) * 1024 / HEAP_VMS));
      for (String id : ids) {
        agent.stop(id, 0, true);
        agent.delete(id, false);
      }
      assertThat(agent.nodeInfo().getVmCount()).isZero();
      assertThat(agent.qemuPids()).isEmpty();
      line("all " + HEAP_VMS + " stopped and deleted; the agent JVM still runs: " + ProcessHandle.of(jvm.pid()).map(ProcessHandle::isAlive).orElse(false));
    }
  }

  private static String maxHeap(long pid) throws IOException, InterruptedException {
    String flags = jcmd(pid, "VM.flags");
    Matcher m = Pattern.compile("-XX:MaxHeapSize=(\\d+)").matcher(flags);
    Matcher gc = Pattern.compile("-XX:\\+Use(\\w+)GC").matcher(flags);
    return (m.find() ? "MaxHeapSize " + Long.parseLong(m.group(1)) / (1024 * 1024) + " MiB" : "MaxHeapSize ?")
        + (gc.find() ? ", " + gc.group(1) + " GC" : "");
  }

  /** jcmd GC.run, then GC.heap_info: heap used and committed (MiB); VmRSS (MiB). */
  static Map<String, Double> heapFigures(long pid) throws IOException, InterruptedException {
    jcmd(pid, "GC.run");
    String info = jcmd(pid, "GC.heap_info");
    double used = 0;
    double committed = 0;
    Pattern totalUsed = Pattern.compile("total (\\d+)K, used (\\d+)K");
    for (String l : info.split("\n")) {
      // G1: "garbage-first heap total NK, used NK"; Serial/Parallel: one line per generation
      if (l.contains("garbage-first heap") || l.contains("generation") || l.contains("PSYoungGen")
          || l.contains("ParOldGen")) {
        Matcher m = totalUsed.matcher(l);
        if (m.find()) {
          committed += Long.parseLong(m.group(1)) / 1024.0;
          used += Long.parseLong(m.group(2)) / 1024.0;
        }
      }
    }
    if (used == 0) {
      throw new AssertionError("could not read the heap from jcmd GC.heap_info: " + info);
    }
    double rss = Double.NaN;
    for (String l : Files.readAllLines(Path.of("/proc/" + pid + "/status"))) {
      if (l.startsWith("VmRSS:")) {
        rss = Long.parseLong(l.replaceAll("\\D", "")) / 1024.0;
      }
    }
    Map<String, Double> figures = new LinkedHashMap<>();
    figures.put("used", used);
    figures.put("committed", committed);
    figures.put("rss", rss);
    return figures;
  }

  private static String jcmd(long pid, String command) throws IOException, InterruptedException {
    Path jcmd = Path.of(System.getProperty("java.home"), "bin", "jcmd");
    Process p = new ProcessBuilder(Files.isExecutable(jcmd) ? jcmd.toString() : "jcmd", Long.toString(pid), command)
        .redirectErrorStream(true).start();
    String text = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
      throw new AssertionError("jcmd " + pid + " " + command + " failed: " + text);
    }
    return text;
  }

  // ---------------------------------------------------------------- plumbing

  /** The multi-process document's example, as the e2e tests' Specs.lsi: one lsi53c895a with one SCSI disk. */
  static VmSpec spec(String name, String image) {
    return VmSpec.newBuilder().setName(name).setMemoryMib(64)
        .addDevices(ProxiedDevice.newBuilder().setId("lsi0").setDriver("lsi53c895a")
            .addDisks(Disk.newBuilder().setId("boot").setImage(image)))
        .build();
  }

  static double ms(long from, long to) {
    return (to - from) / 1e6;
  }

  private void line(String s) {
    out.println(s);
    report.append(s).append('\n');
  }

  private static String cpuModel() {
    try (Stream<String> lines = Files.lines(Path.of("/proc/cpuinfo"))) {
      return lines.filter(l -> l.startsWith("model name")).findFirst().map(l -> l.replaceFirst("model name\\s*:\\s*", ""))
          .orElse("?");
    } catch (IOException e) {
      return "?";
    }
  }

  static void deleteTree(Path root) throws IOException {
    if (!Files.exists(root)) {
      return;
    }
    try (Stream<Path> walk = Files.walk(root)) {
      for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(p);
      }
    }
  }
}
