package io.mpqemu.agent.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import io.mpqemu.agent.AgentConfig;
import io.mpqemu.testing.Await;
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

  private static final int WARM_UP_CYCLES = 3;
  private static final int CYCLES = 20;

  /**
   * Threads of pools that start threads on demand, are bounded, and (most of them) let idle threads
   * end by themselves, so their count says nothing about a leak. Each was seen in a thread dump of
   * this test (JDK 17, Vert.x 5):
   * <ul>
   *   <li>{@code process reaper}: the JDK's cached pool that waits for child processes, one thread per
   *       child being waited for; idle ones end after 60 s. While it waits, JDK 17 renames the thread
   *       {@code process reaper (pid N)}; a child left running still shows in the children count.</li>
   *   <li>{@code vert.x-worker-thread-N}: Vert.x's worker pool (executeBlocking), started lazily up to
   *       its size of 20, all 20 already at the baseline here;</li>
   *   <li>{@code vert.x-internal-blocking-N}: Vert.x's internal blocking pool, likewise lazy and
   *       bounded (20);</li>
   *   <li>{@code vert.x-eventloop-thread-N}: the event loop group, 2 x CPUs threads, each started the
   *       first time a channel or context is assigned to it round-robin; on a host with more CPUs
   *       than this test's warm-up touches, a later connection can start one more;</li>
   *   <li>{@code globalEventExecutor-1-N}: Netty's single global executor thread, started on demand and
   *       ended after 1 s idle (present at one measurement and gone at the next);</li>
   *   <li>{@code ForkJoinPool.commonPool-worker-N}: the common pool that runs asynchronous
   *       CompletableFuture stages; bounded by the CPU count, shrinking when idle.</li>
   * </ul>
   * A leaked {@code qmp-*} reader thread, or any other thread started per VM that never ends, still
   * counts.
   */
  private static final Pattern POOL_THREAD = Pattern.compile("process reaper( \\(pid \\d+\\))?"
      + "|vert\\.x-worker-thread-\\d+|vert\\.x-internal-blocking-\\d+|vert\\.x-eventloop-thread-\\d+"
      + "|globalEventExecutor-\\d+-\\d+|ForkJoinPool\\.commonPool-worker-\\d+");

  private AgentHarness agent;

  @BeforeEach
  void start() throws Exception {
    // TCG: this measures the agent's own resources, and on nested-KVM hosts (like the one these
    // tests were written on) the firmware boots several times slower under KVM than under TCG
    agent = new AgentHarness().startInProcess(c -> new AgentConfig(c.nodeId(), c.listen(), c.stateDir(), c.imageRoot(),
        c.qemuBinary(), "tcg", c.limits(), c.memoryMib(), c.maxVms(), c.labels(), c.stopTimeout(), c.exitDeadline(),
        c.consoleLogMaxBytes()).withConfinement(c.confinement()));
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

    Usage after = awaitFds(baseline.fds(), Duration.ofSeconds(2));
    System.out.println("resource use over " + CYCLES + " launch/stop cycles: baseline " + baseline + ", after " + after);
    System.out.println("thread dump after: " + threadNames());
    // not more than at the baseline: a shared test JVM may close something of an earlier test meanwhile
    assertThat(after.fds()).as("open file descriptors (baseline %s, after %s)", baseline, after)
        .isLessThanOrEqualTo(baseline.fds());
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
    agent.awaitConsole(vmId, "cycle", AgentHarness.BOOT_WITHIN);
    AgentVm stopped = i % 2 == 0 ? agent.stop(vmId, 1, false) : agent.stop(vmId, 0, true);
    assertThat(stopped.getPhase()).isEqualTo(Phase.PHASE_STOPPED);
    agent.delete(vmId, false);
  }

  private Usage awaitFds(int expected, Duration within) throws IOException {
    return Await.atMost(within).every(Duration.ofMillis(50)).poll(Usage::measure, now -> now.fds() <= expected);
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
