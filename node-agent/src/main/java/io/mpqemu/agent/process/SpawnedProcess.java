package io.mpqemu.agent.process;

import io.mpqemu.agent.sys.ChildExit;
import java.time.Instant;
import java.util.concurrent.CompletableFuture;

/**
 * A process this agent spawned itself: a thread of its own waits for it and reaps it, so its exit
 * status is known and no zombie is left; a signal is never sent once its pid was reaped.
 */
final class SpawnedProcess implements RunningProcess {

  private static final long REAPER_STACK = 256 * 1024;

  private final long pid;
  private final Instant startedAt;
  private final ChildExit child;
  private final CompletableFuture<ExitStatus> exit = new CompletableFuture<>();

  SpawnedProcess(int pid) {
    this.pid = pid;
    this.child = new ChildExit(pid);
    Thread reaper = new Thread(null, this::reap, "reaper-" + pid, REAPER_STACK);
    reaper.setDaemon(true);
    reaper.start();
    // read once the reaper runs: a process that exits at once has a start time until it is reaped
    this.startedAt = ProcessHandle.of(pid).flatMap(h -> h.info().startInstant()).orElseGet(Instant::now);
  }

  private void reap() {
    try {
      int status = child.awaitAndReap();
      int signal = ChildExit.termSignal(status);
      exit.complete(ExitStatus.ofExitValue(signal != 0 ? 128 + signal : ChildExit.exitCode(status)));
    } catch (RuntimeException e) {
      exit.complete(ExitStatus.unknown());
    }
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
    child.signal(15);
  }

  @Override
  public void kill() {
    child.signal(9);
  }
}
