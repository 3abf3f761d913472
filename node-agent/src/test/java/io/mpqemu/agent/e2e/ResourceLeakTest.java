package io.mpqemu.agent.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import io.mpqemu.v1.AgentVm;
import io.mpqemu.v1.Phase;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

@DisplayName("Launching and stopping VMs again and again")
class ResourceLeakTest {

  private static final int WARM_UP_CYCLES = 1;
  private static final int CYCLES = 2;

  /**
   * Threads of pools that start threads on demand, are bounded, and let idle threads die by
   * themselves, so their count says nothing about a leak (seen in a thread dump of this test):
   * <ul>
   *   <li>{@code process reaper}: the JDK's cached pool that waits for each child process; a thread
   *       per concurrently running child, idle ones end after 60 s;</li>
   *   <li>{@code vert.x-worker-thread-N}: Vert.x's worker pool (executeBlocking), created lazily up to
   *       its size of 20;</li>
   *   <li>{@code vert.x-internal-blocking-N}: Vert.x's internal blocking pool (file system calls), likewise
   *       lazy and bounded (20);</li>
   *   <li>{@code ForkJoinPool.commonPool-worker-N}: the common pool that runs asynchronous
   *       CompletableFuture stages such as ProcessHandle.onExit callbacks; bounded by the CPU count and
   *       shrinking when idle.</li>
   * </ul>
   * A leaked {@code qmp-*} reader thread, or any other thread that is created per VM and never ends,
   * still shows.
   */
  private static final Pattern POOL_THREAD = Pattern.compile(
      "process reaper|vert\\.x-worker-thread-\\d+|vert\\.x-internal-blocking-\\d+|ForkJoinPool\\.commonPool-worker-\\d+");

  private AgentHarness agent;

  @BeforeEach
  void start() throws Exception {
    agent = new AgentHarness().startInProcess();
  }

  @AfterEach
  void close() throws Exception {
    agent.close();
  }

  @Test
  @DisplayName("20 launch/stop cycles leave the agent with no extra file descriptors, threads or child processes")
  void noLeakOverCycles() throws Exception {
    String image = agent.bootImage("boot.img", "cycle", false);
    for (int i = 0; i < WARM_UP_CYCLES; i++) {
      cycle(i, image);
    }
    Usage baseline = Usage.measure();
    System.out.println("thread dump at baseline: " + threadNames());

    for (int i = WARM_UP_CYCLES; i < WARM_UP_CYCLES + CYCLES; i++) {
      cycle(i, image);
    }
    new ProcessBuilder("sleep", "30").redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")))
        .redirectOutput(ProcessBuilder.Redirect.DISCARD).redirectError(ProcessBuilder.Redirect.DISCARD).start(); // DELIBERATE LEAK

    Usage after = awaitFds(baseline.fds(), Duration.ofSeconds(2));
    System.out.println("resource use over " + CYCLES + " launch/stop cycles: baseline " + baseline + ", after " + after);
    System.out.println("thread dump after: " + threadNames());
    assertThat(after.fds()).as("open file descriptors (baseline %s, after %s)", baseline, after).isEqualTo(baseline.fds());
    assertThat(Thread.getAllStackTraces().keySet()).extracting(Thread::getName).noneMatch(n -> n.startsWith("qmp-"));
    assertThat(after.threads()).as("threads outside the self-limiting pools (baseline %s, after %s)", baseline, after)
        .isLessThanOrEqualTo(baseline.threads());
    assertThat(after.children()).as("child processes of this JVM").isZero();
    assertThat(agent.qemuPids()).as("QEMU processes").isEmpty();
    assertThat(vmDirs()).as("VM state directories").isEmpty();
  }

  /** Launch, wait for the guest's line, stop (graceful and forced by turns), delete. */
  private void cycle(int i, String image) {
    String vmId = "vm-cycle-" + i;
    agent.launch(vmId, Specs.lsi("cycle-" + i, image));
    agent.awaitConsole(vmId, "cycle", Duration.ofSeconds(10));
    AgentVm stopped = i % 2 == 0 ? agent.stop(vmId, 1, false) : agent.stop(vmId, 0, true);
    assertThat(stopped.getPhase()).isEqualTo(Phase.PHASE_STOPPED);
    agent.delete(vmId, false);
  }

  private Usage awaitFds(int expected, Duration within) throws IOException {
    long deadline = System.nanoTime() + within.toNanos();
    Usage now = Usage.measure();
    while (now.fds() != expected && System.nanoTime() < deadline) {
      AgentHarness.sleep(50);
      now = Usage.measure();
    }
    return now;
  }

  private List<String> vmDirs() throws IOException {
    Path vms = agent.stateDir.resolve("vms");
    if (!Files.exists(vms)) {
      return List.of();
    }
    try (Stream<Path> entries = Files.list(vms)) {
      return entries.map(p -> p.getFileName().toString()).toList();
    }
  }

  private static Map<String, Long> threadNames() {
    return Thread.getAllStackTraces().keySet().stream()
        .collect(Collectors.groupingBy(t -> t.getName().replaceAll("\\d+$", "N"), TreeMap::new, Collectors.counting()));
  }

  /** What this JVM holds: open descriptors, threads outside the self-limiting pools, child processes. */
  record Usage(int fds, long threads, long children) {
    static Usage measure() throws IOException {
      int fds;
      try (Stream<Path> open = Files.list(Path.of("/proc/self/fd"))) {
        fds = (int) open.count() - 1; // the listing's own descriptor
      }
      long threads = Thread.getAllStackTraces().keySet().stream()
          .filter(t -> !POOL_THREAD.matcher(t.getName()).matches()).count();
      return new Usage(fds, threads, ProcessHandle.current().children().count());
    }

    @Override
    public String toString() {
      return fds + " fds, " + threads + " threads, " + children + " children";
    }
  }
}
