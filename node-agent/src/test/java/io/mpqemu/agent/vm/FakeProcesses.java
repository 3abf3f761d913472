package io.mpqemu.agent.vm;

import static org.assertj.core.api.Assertions.assertThat;

import io.mpqemu.agent.process.ProcessLauncher;
import io.mpqemu.agent.process.RunningProcess;
import io.mpqemu.agent.sys.Fd;
import java.io.IOException;
import java.lang.ProcessBuilder.Redirect;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Starts {@link FakeProcess}es instead of QEMU and records them. Like real device processes, the
 * started ones exit with status 0 once the main QEMU is gone (unless told otherwise). Pids are
 * above the kernel's pid_max, so no real process is ever touched.
 */
final class FakeProcesses implements ProcessLauncher {

  private final AtomicLong nextPid = new AtomicLong(5_000_000);
  private final List<FakeProcess> started = new CopyOnWriteArrayList<>();
  private final List<FakeProcess> all = new CopyOnWriteArrayList<>();
  private final Map<Long, FakeProcess> leftOver = new ConcurrentHashMap<>();
  private volatile int failingStart = -1;
  private volatile boolean devicesFollowMain = true;

  /** The {@code n}th start (from 1) fails, as an unstartable binary would. */
  void failStart(int n) {
    failingStart = n;
  }

  /** Device processes outlive the main QEMU until killed. */
  void devicesIgnoreMainExit() {
    devicesFollowMain = false;
  }

  /** A process a previous agent started, still running, for adoption. */
  FakeProcess leftOver(List<String> argv) {
    FakeProcess p = new FakeProcess(nextPid.incrementAndGet(), Instant.parse("2029-12-31T23:00:00Z"), argv);
    leftOver.put(p.pid(), p);
    register(p);
    return p;
  }

  /** The descriptor numbers and the marker a started process was given. */
  record Given(Set<Integer> descriptors, List<String> marker) {}

  private final Map<FakeProcess, Given> given = new ConcurrentHashMap<>();

  Given given(FakeProcess p) {
    return given.get(p);
  }

  List<FakeProcess> started() {
    return List.copyOf(started);
  }

  FakeProcess main() {
    return started.stream().filter(p -> !p.isDevice()).findFirst().orElseThrow();
  }

  FakeProcess device() {
    return started.stream().filter(FakeProcess::isDevice).findFirst().orElseThrow();
  }

  void assertNoneRunning() {
    assertThat(started).as("every started process has exited").noneMatch(FakeProcess::isAlive);
  }

  @Override
  public synchronized RunningProcess start(List<String> argv, Map<Integer, Fd> fds, List<String> marker)
      throws IOException {
    if (started.size() + 1 == failingStart) {
      failingStart = -1;
      throw new IOException("Cannot run program \"" + argv.get(0) + "\": error=2, No such file or directory");
    }
    FakeProcess p = new FakeProcess(nextPid.incrementAndGet(), Instant.parse("2030-01-01T00:00:00Z"), argv);
    given.put(p, new Given(new TreeSet<>(fds.keySet()), List.copyOf(marker)));
    started.add(p);
    register(p);
    return p;
  }

  /** Device processes exit by themselves once a main QEMU is gone, as real ones do when their peer goes. */
  private void register(FakeProcess p) {
    all.add(p);
    if (!p.isDevice()) {
      p.onExit().thenRun(() -> {
        if (devicesFollowMain) {
          all.stream().filter(FakeProcess::isDevice).filter(FakeProcess::isAlive).forEach(d -> d.exit(0));
        }
      });
    }
  }

  @Override
  public Optional<RunningProcess> adopt(long pid, Instant startedAt, long uid) {
    FakeProcess p = leftOver.get(pid);
    return p != null && p.isAlive() && p.startedAt().equals(startedAt) ? Optional.of(p) : Optional.empty();
  }
}
