package io.mpqemu.agent.vm;

import io.mpqemu.agent.process.ExitStatus;
import io.mpqemu.agent.process.RunningProcess;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicInteger;

/** A QEMU process that exits when the test says so, or when killed (unless it ignores SIGKILL). */
final class FakeProcess implements RunningProcess {

  private final long pid;
  private final Instant startedAt;
  private final List<String> argv;
  private final CompletableFuture<ExitStatus> exit = new CompletableFuture<>();
  private final AtomicInteger kills = new AtomicInteger();
  private volatile boolean survivesKill;

  FakeProcess(long pid, Instant startedAt, List<String> argv) {
    this.pid = pid;
    this.startedAt = startedAt;
    this.argv = List.copyOf(argv);
  }

  boolean isDevice() {
    return argv.contains("x-remote");
  }

  /** Exits with {@code status} (128 + N for death by signal N). */
  void exit(int status) {
    exit.complete(ExitStatus.ofExitValue(status));
  }

  /** SIGKILL does not end it: a process stuck in the kernel. */
  void survivesKill() {
    survivesKill = true;
  }

  int kills() {
    return kills.get();
  }

  @Override
  public long pid() {
    return pid;
  }

  @Override
  public Instant startedAt() {
    return startedAt;
  }

  @Override
  public CompletableFuture<ExitStatus> onExit() {
    return exit;
  }

  @Override
  public boolean isAlive() {
    return !exit.isDone();
  }

  @Override
  public void terminate() {
    exit(128 + 15);
  }

  @Override
  public void kill() {
    kills.incrementAndGet();
    if (!survivesKill) {
      exit(128 + 9);
    }
  }
}
