package io.mpqemu.agent.bench;

import static io.mpqemu.agent.bench.LaunchLatencyBenchmark.accelerator;
import static io.mpqemu.agent.bench.LaunchLatencyBenchmark.awaitArrival;
import static io.mpqemu.agent.bench.LaunchLatencyBenchmark.deleteTree;
import static io.mpqemu.agent.bench.LaunchLatencyBenchmark.median;
import static io.mpqemu.agent.bench.LaunchLatencyBenchmark.ms;
import static io.mpqemu.agent.bench.LaunchLatencyBenchmark.p95;
import static io.mpqemu.agent.bench.LaunchLatencyBenchmark.quantile;
import static io.mpqemu.v1.Confinement.CONFINEMENT_OFF;
import static io.mpqemu.v1.Confinement.CONFINEMENT_ON;
import static org.assertj.core.api.Assertions.assertThat;

import io.mpqemu.agent.AgentConfig;
import io.mpqemu.agent.confine.Confinement;
import io.mpqemu.agent.confine.ConfinementSettings;
import io.mpqemu.agent.confine.UidRange;
import io.mpqemu.agent.e2e.AgentHarness;
import io.mpqemu.agent.qemu.BootImage;
import io.mpqemu.agent.qemu.QemuImg;
import io.mpqemu.agent.state.VmPaths;
import io.mpqemu.agent.vm.ConfinedVm;
import io.mpqemu.testing.Await;
import io.mpqemu.testing.UidRanges;
import io.mpqemu.v1.AgentVm;
import io.mpqemu.v1.Disk;
import io.mpqemu.v1.NodeInfo;
import io.mpqemu.v1.Phase;
import io.mpqemu.v1.ProxiedDevice;
import io.mpqemu.v1.VmSpec;
import io.vertx.core.Future;
import java.io.File;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.lang.ProcessBuilder.Redirect;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
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
 * What confining QEMU processes costs a launch: two agents in this JVM, one confined (the default)
 * and one with {@code --confinement=off}, each in an {@link AgentHarness} of its own (its own uid
 * range, state directory and Vert.x), launch the same VMs in turn.
 *
 * <p>Run: {@code mvn -B -o verify -Pbench -pl node-agent -am -Dtest=ConfinementBenchmark
 * -Dsurefire.failIfNoSpecifiedTests=false}. Knobs: {@code -Dbench.runs=20} measured launches of each
 * agent and shape after {@code -Dbench.warmup=3}, {@code -Dbench.shapes=lsi,nvme} (one shape per run
 * when a loaded machine would take the whole run past surefire's 20-minute fork limit),
 * {@code -Dbench.chainRuns=50} (0 skips the wrapper chain part), {@code -Dbench.chainGapMs=100},
 * {@code -Dbench.accelerator=auto|kvm|tcg}, {@code -Dbench.dir=/tmp} (where the harnesses' roots go:
 * keep it short, the QMP socket path must fit in 107 bytes). The report is also written, as it grows,
 * to {@code node-agent/target/bench-confinement.txt}.
 *
 * <p>Two shapes, each 64 MiB, 1 vCPU, {@code pc}: one {@code lsi53c895a} with a raw boot disk, and one
 * {@code nvme} with a qcow2 boot disk (converted from the same raw image). For each run i and each
 * shape: confined launch i, then unconfined launch i, after warm-ups done the same way, so that noise
 * from the machine hits both alike. Clock: from sending LaunchVm to the {@code LAUNCHED} event's arrival
 * on the agent's event bus (phase RUNNING), and to the boot sector's line in the console log (polled
 * every 2 ms by {@link ConsoleWatch}). Each VM is then force-stopped and deleted before the next launch.
 *
 * <p>Wrapper chain: to say where a difference comes from, the same JVM spawns {@code /bin/true} bare
 * and behind each prefix of the confined command ({@link VmJail#wrap}): {@code sh} setting rlimits,
 * then joining a VM's cgroups, {@code nsenter} into the view, {@code unshare}, {@code setpriv}; the
 * variants interleaved, spawn to exit, from a {@link Confinement} of its own (its own uid range, view
 * and cgroups). Once back to back and once with an idle gap before each spawn: on cgroup v1 a write
 * to cgroup.procs waits for an RCU grace period unless another write just did, so only the spaced
 * figures say what a launch pays.
 */
class ConfinementBenchmark {

  static final int WARMUP = Integer.getInteger("bench.warmup", 3);
  static final int RUNS = Integer.getInteger("bench.runs", 20);
  static final int CHAIN_RUNS = Integer.getInteger("bench.chainRuns", 50);
  static final long CHAIN_GAP_MILLIS = Long.getLong("bench.chainGapMs", 100);
  /** Which shapes to run ("lsi,nvme"): one shape per JVM fits surefire's 20-minute fork limit on a loaded machine. */
  static final String SHAPES = System.getProperty("bench.shapes", "lsi,nvme");
  static final String ACCELERATOR = System.getProperty("bench.accelerator", "auto");
  static final String DIR = System.getProperty("bench.dir", "/tmp");
  static final String MESSAGE = "mpqemu confinement bench booted";
  static final long CONSOLE_WAIT_MILLIS = 60_000;
  static final double TARGET = 1.10;
  private static final Pattern LAUNCHED_IN = Pattern.compile("launched in (\\d+) ms");

  /** A VM shape: one proxied controller with one boot disk. */
  enum Shape {
    LSI("lsi", "lsi53c895a", "boot.img", "raw"),
    NVME("nvme", "nvme", "boot.qcow2", "qcow2");

    final String tag;
    final String driver;
    final String image;
    final String format;

    Shape(String tag, String driver, String image, String format) {
      this.tag = tag;
      this.driver = driver;
      this.image = image;
      this.format = format;
    }

    VmSpec spec(String name) {
      return VmSpec.newBuilder().setName(name).setMemoryMib(64)
          .addDevices(ProxiedDevice.newBuilder().setId(tag + "0").setDriver(driver)
              .addDisks(Disk.newBuilder().setId("boot").setImage(image).setFormat(format)))
          .build();
    }

    String describe() {
      return "one " + driver + " with a " + format + " boot disk";
    }
  }

  /** One launch, in ms from sending LaunchVm; teardown from sending StopVm to DeleteVm's answer. */
  record Run(double running, double console, double reply, double launchStarted, double deviceStarted,
      double mainStarted, double launchedIn, double teardown) {}

  /** One agent under test. */
  record Side(String name, AgentHarness harness, BusArrivals arrivals) {}

  private final PrintStream out = System.out;
  /** The report, written as it grows: a run cut short by surefire's fork limit keeps what it measured. */
  private final Path saved = Path.of("target", "bench-confinement.txt").toAbsolutePath();

  @Test
  void confinedAgainstUnconfined() throws Exception {
    Path parent = Path.of(DIR);
    Files.createDirectories(saved.getParent());
    Files.writeString(saved, "");
    try (AgentHarness confinedHarness = new AgentHarness(parent); AgentHarness openHarness = new AgentHarness(parent)) {
      confinedHarness.startInProcess(LaunchLatencyBenchmark::accelerator);
      openHarness.startInProcess(c -> accelerator(c).withConfinement(c.confinement().withEnabled(false)));
      Side confined = new Side("confined", confinedHarness, new BusArrivals(confinedHarness.vertx()));
      Side open = new Side("unconfined", openHarness, new BusArrivals(openHarness.vertx()));

      NodeInfo ci = confinedHarness.nodeInfo();
      NodeInfo oi = openHarness.nodeInfo();
      assertThat(ci.getConfinement()).isEqualTo(CONFINEMENT_ON);
      assertThat(oi.getConfinement()).isEqualTo(CONFINEMENT_OFF);
      line("== Node agent: launch latency, confined against unconfined (mpqemu ConfinementBenchmark) ==");
      line("host: " + Runtime.getRuntime().availableProcessors() + " CPUs; load average before: " + loadAverage()
          + "; java " + System.getProperty("java.version"));
      line("qemu: " + ci.getQemuVersion() + "; accelerator: " + ci.getAccelerator() + " / " + oi.getAccelerator()
          + " (asked: " + ACCELERATOR + ")");
      line("confined agent:   " + ci.getConfinementDetail());
      line("unconfined agent: " + oi.getConfinementDetail());
      line("roots: " + confinedHarness.root + " (" + Files.getFileStore(confinedHarness.root).type() + "), "
          + openHarness.root);
      line(WARMUP + " warm-up + " + RUNS + " measured launches of each agent and shape; per i and shape: confined, "
          + "then unconfined. VMs: 64 MiB, 1 vCPU, pc; console polled every " + ConsoleWatch.POLL_MILLIS + " ms");

      for (AgentHarness h : List.of(confinedHarness, openHarness)) {
        Path raw = h.imageRoot.resolve(Shape.LSI.image);
        BootImage.writeRaw(raw, MESSAGE, false);
        QemuImg.run("convert", "-f", "raw", "-O", "qcow2", raw.toString(), h.imageRoot.resolve(Shape.NVME.image).toString());
      }

      List<Shape> shapes = Arrays.stream(SHAPES.split(","))
          .map(t -> Shape.valueOf(t.strip().toUpperCase(Locale.ROOT))).toList();
      Map<Shape, List<Run>> confinedRuns = new LinkedHashMap<>();
      Map<Shape, List<Run>> openRuns = new LinkedHashMap<>();
      for (Shape s : shapes) {
        confinedRuns.put(s, new ArrayList<>());
        openRuns.put(s, new ArrayList<>());
      }
      line(String.format(Locale.ROOT, "%-8s %-5s %10s %10s %10s | %10s %10s %10s", "run", "shape", "conf run",
          "conf con", "conf down", "open run", "open con", "open down"));
      for (int i = 0; i < WARMUP + RUNS; i++) {
        boolean warm = i < WARMUP;
        for (Shape s : shapes) {
          Run c = launch(confined, s, s.tag + "-c-" + i, i == 0 ? CONFINEMENT_ON : null);
          Run u = launch(open, s, s.tag + "-u-" + i, i == 0 ? CONFINEMENT_OFF : null);
          if (!warm) {
            confinedRuns.get(s).add(c);
            openRuns.get(s).add(u);
          }
          line(String.format(Locale.ROOT, "%-8s %-5s %10.1f %10.1f %10.1f | %10.1f %10.1f %10.1f",
              warm ? "warm-" + i : "run-" + (i - WARMUP), s.tag, c.running, c.console, c.teardown, u.running,
              u.console, u.teardown));
        }
      }
      line("load average after: " + loadAverage());
      for (Shape s : shapes) {
        summarize(s, confinedRuns.get(s), openRuns.get(s));
      }
      if (CHAIN_RUNS > 0) {
        chain(parent);
      }
    } finally {
      out.println("(this report is also in " + saved + ")");
    }
  }

  // ---------------------------------------------------------------- launches

  private Run launch(Side side, Shape shape, String vmId, io.mpqemu.v1.Confinement expect) throws Exception {
    AgentHarness agent = side.harness;
    VmSpec spec = shape.spec(vmId);
    VmPaths paths = VmPaths.of(agent.stateDir, vmId);
    AtomicLong replyAt = new AtomicLong();
    long t0;
    long consoleAt;
    try (ConsoleWatch watch = ConsoleWatch.start(paths.consoleLog(), MESSAGE)) {
      t0 = System.nanoTime();
      Future<AgentVm> launched = agent.launchAsync(vmId, spec).onSuccess(vm -> replyAt.set(System.nanoTime()));
      AgentVm vm = AgentHarness.result(launched);
      assertThat(vm.getPhase()).as(side.name + " " + vmId).isEqualTo(Phase.PHASE_RUNNING);
      if (expect != null) {
        assertThat(vm.getConfinement()).as(side.name + " " + vmId).isEqualTo(expect);
      }
      consoleAt = watch.awaitSeen(CONSOLE_WAIT_MILLIS);
    }
    BusArrivals arrivals = side.arrivals;
    BusArrivals.Arrival running = awaitArrival(arrivals, vmId, "LAUNCHED", null);
    BusArrivals.Arrival started = awaitArrival(arrivals, vmId, "LAUNCH_STARTED", null);
    BusArrivals.Arrival device = awaitArrival(arrivals, vmId, "PROCESS_STARTED", spec.getDevices(0).getId());
    BusArrivals.Arrival main = awaitArrival(arrivals, vmId, "PROCESS_STARTED", VmPaths.MAIN);
    Matcher m = LAUNCHED_IN.matcher(running.event().getString("message", ""));
    double launchedIn = m.find() ? Double.parseDouble(m.group(1)) : Double.NaN;
    long down = System.nanoTime();
    agent.stop(vmId, 0, true);
    agent.delete(vmId, false);
    double teardown = ms(down, System.nanoTime());
    arrivals.forget(vmId);
    return new Run(ms(t0, running.nanos()), ms(t0, consoleAt), ms(t0, replyAt.get()), ms(t0, started.nanos()),
        ms(t0, device.nanos()), ms(t0, main.nanos()), launchedIn, teardown);
  }

  private void summarize(Shape shape, List<Run> c, List<Run> u) {
    line("");
    line("-- " + shape.describe() + ", N = " + c.size() + " each (ms)        median      p95     mean      min      max");
    stat("confined:   LaunchVm -> LAUNCHED (RUNNING)", c, Run::running);
    stat("unconfined: LaunchVm -> LAUNCHED (RUNNING)", u, Run::running);
    stat("confined:   LaunchVm -> boot line on console", c, Run::console);
    stat("unconfined: LaunchVm -> boot line on console", u, Run::console);
    stat("confined:   LaunchVm -> LaunchVm answered", c, Run::reply);
    stat("unconfined: LaunchVm -> LaunchVm answered", u, Run::reply);
    stat("confined:   StopVm(force) + DeleteVm", c, Run::teardown);
    stat("unconfined: StopVm(force) + DeleteVm", u, Run::teardown);
    double runRatio = median(c, Run::running) / median(u, Run::running);
    line(String.format(Locale.ROOT, "ratio confined/unconfined, to RUNNING:      median %.3f, p95 %.3f (target: at most %.2f -> %s)",
        runRatio, p95(c, Run::running) / p95(u, Run::running), TARGET, runRatio <= TARGET ? "MET" : "MISSED"));
    line(String.format(Locale.ROOT, "ratio confined/unconfined, to console line: median %.3f, p95 %.3f",
        median(c, Run::console) / median(u, Run::console), p95(c, Run::console) / p95(u, Run::console)));
    line(String.format(Locale.ROOT, "confinement's extra time to RUNNING: median %.1f ms (difference of medians), "
        + "%.1f ms (median of per-pair differences)", median(c, Run::running) - median(u, Run::running),
        pairedMedian(c, u, Run::running)));
    line("where the time goes (medians of per-run segments, ms)            confined unconfined   diff");
    seg("  LaunchVm sent -> LAUNCH_STARTED arrives", c, u, r -> r.launchStarted);
    seg("  LAUNCH_STARTED -> main PROCESS_STARTED (it starts first)", c, u, r -> r.mainStarted - r.launchStarted);
    seg("  main PROCESS_STARTED -> device PROCESS_STARTED", c, u, r -> r.deviceStarted - r.mainStarted);
    seg("  main PROCESS_STARTED -> LAUNCHED (QMP, device_add, cont)", c, u, r -> r.running - r.mainStarted);
    seg("  agent's own 'launched in' (first step -> cont answered)", c, u, r -> r.launchedIn);
    seg("  LAUNCHED -> boot line on console", c, u, r -> r.console - r.running);
  }

  private void seg(String what, List<Run> c, List<Run> u, ToDoubleFunction<Run> f) {
    double a = median(c, f);
    double b = median(u, f);
    line(String.format(Locale.ROOT, "%-62s %8.1f %8.1f %+7.1f", what, a, b, a - b));
  }

  private <T> void stat(String what, List<T> runs, ToDoubleFunction<T> f) {
    double[] v = runs.stream().mapToDouble(f).sorted().toArray();
    line(String.format(Locale.ROOT, "%-44s %8.1f %8.1f %8.1f %8.1f %8.1f", what, quantile(v, 0.5), quantile(v, 0.95),
        Arrays.stream(v).average().orElse(Double.NaN), v[0], v[v.length - 1]));
  }

  /** The median of confined run i minus unconfined run i (the pair that ran back to back). */
  private static double pairedMedian(List<Run> c, List<Run> u, ToDoubleFunction<Run> f) {
    double[] d = new double[c.size()];
    for (int i = 0; i < d.length; i++) {
      d[i] = f.applyAsDouble(c.get(i)) - f.applyAsDouble(u.get(i));
    }
    Arrays.sort(d);
    return quantile(d, 0.5);
  }

  // ---------------------------------------------------------------- the wrapper chain alone

  /**
   * Spawns {@code /bin/true} bare and behind each prefix of a device process's confined command, the
   * variants in turn, and prints spawn-to-exit medians and what each step adds: once back to back, once
   * with {@code bench.chainGapMs} of idle time before each spawn, as between the joins of a launch.
   */
  private void chain(Path parent) throws Exception {
    Path work = Files.createTempDirectory(parent, "mpqc-");
    ConfinementSettings settings = ConfinementSettings.DEFAULT.withUids(UidRange.parse(UidRanges.next()));
    Confinement confinement = Confinement.forAgent(settings, work, Path.of("qemu-system-x86_64"), 8);
    try {
      ConfinedVm jail = confinement.prepare("chain", List.of("dev-x", "main"), 64, 1).orElseThrow();
      List<String> target = List.of("/bin/true");
      List<String> full = jail.wrap("dev-x", jail.firstUid() + 1, false, target);
      int firstProcs = 5; // sh -c JOIN name nofile, then the cgroup.procs files up to "--"
      int procsEnd = full.indexOf("--");
      List<String> shOnly = new ArrayList<>(full.subList(0, firstProcs));
      shOnly.add("--");
      shOnly.addAll(target);
      Map<String, List<String>> variants = new LinkedHashMap<>();
      variants.put(BARE, target);
      variants.put("sh: ulimit, exec (no cgroup)", shOnly);
      variants.put("  + join " + (procsEnd - firstProcs) + " cgroups (cgroup.procs)", cut(full, "nsenter", target));
      variants.put("  + nsenter --mount=<view>", cut(full, "unshare", target));
      variants.put("  + unshare --mount --net --ipc --uts", cut(full, "setpriv", target));
      variants.put(WHOLE, full);
      line("");
      line("-- the wrapper chain alone: /bin/true spawned from this JVM (ProcessBuilder), spawn to exit, "
          + CHAIN_RUNS + " runs of each variant, interleaved, after 10 warm-ups (ms)");
      chainTable(variants, 0);
      chainTable(variants, CHAIN_GAP_MILLIS);
    } finally {
      confinement.release("chain");
      confinement.close();
      deleteTree(work);
    }
  }

  private static final String BARE = "/bin/true, bare";
  private static final String WHOLE = "  + setpriv (the whole chain, as a launch runs it)";

  private void chainTable(Map<String, List<String>> variants, long gapMillis) throws Exception {
    Map<String, double[]> times = new LinkedHashMap<>();
    variants.keySet().forEach(k -> times.put(k, new double[CHAIN_RUNS]));
    for (int i = -10; i < CHAIN_RUNS; i++) {
      for (Map.Entry<String, List<String>> v : variants.entrySet()) {
        if (gapMillis > 0) {
          Thread.sleep(gapMillis);
        }
        double t = spawnToExit(v.getValue());
        if (i >= 0) {
          times.get(v.getKey())[i] = t;
        }
      }
    }
    line(gapMillis == 0 ? "back to back:" : "each spawn after " + gapMillis + " ms idle (as in a launch):");
    line(String.format(Locale.ROOT, "  %-52s %8s %8s %10s", "command", "median", "p95", "step adds"));
    double previous = Double.NaN;
    for (Map.Entry<String, double[]> e : times.entrySet()) {
      double[] v = e.getValue().clone();
      Arrays.sort(v);
      double med = quantile(v, 0.5);
      line(String.format(Locale.ROOT, "  %-52s %8.2f %8.2f %10s", e.getKey(), med, quantile(v, 0.95),
          Double.isNaN(previous) ? "" : String.format(Locale.ROOT, "%+.2f", med - previous)));
      previous = med;
    }
    double[] bare = times.get(BARE).clone();
    double[] whole = times.get(WHOLE).clone();
    Arrays.sort(bare);
    Arrays.sort(whole);
    line(String.format(Locale.ROOT, "  the chain costs %.2f ms per process at the median; a launch starts 2 processes, "
        + "the main one after the device one", quantile(whole, 0.5) - quantile(bare, 0.5)));
  }

  /** {@code full} up to (not including) the element {@code at}, then {@code target}. */
  private static List<String> cut(List<String> full, String at, List<String> target) {
    int i = full.indexOf(at);
    assertThat(i).as(at + " in " + full).isPositive();
    List<String> cmd = new ArrayList<>(full.subList(0, i));
    cmd.addAll(target);
    return cmd;
  }

  private static double spawnToExit(List<String> cmd) throws IOException, InterruptedException {
    ProcessBuilder pb = new ProcessBuilder(cmd).redirectOutput(Redirect.DISCARD).redirectError(Redirect.DISCARD)
        .redirectInput(Redirect.from(new File("/dev/null")));
    long t = System.nanoTime();
    Process p = pb.start();
    if (!p.waitFor(10, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      throw new AssertionError(cmd + " did not exit within 10 s");
    }
    double took = ms(t, System.nanoTime());
    assertThat(p.exitValue()).as(String.join(" ", cmd)).isZero();
    return took;
  }

  // ---------------------------------------------------------------- plumbing

  private void line(String s) {
    out.println(s);
    try {
      Files.writeString(saved, s + "\n", StandardOpenOption.APPEND);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static String loadAverage() {
    try {
      return Files.readString(Path.of("/proc/loadavg")).strip();
    } catch (IOException e) {
      return "?";
    }
  }
}
