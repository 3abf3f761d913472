package io.mpqemu.agent.process;

import java.time.Instant;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * A process found running after an agent restart. It is not our child, so its exit status cannot be
 * learned, and the JDK would notice its exit only by polling with a back-off of up to 5 s (and never,
 * for a zombie nobody reaps). One shared daemon thread checks /proc every 100 ms instead.
 */
final class AdoptedProcess implements RunningProcess {

  private static final long POLL_MS = 100;
  private static final ScheduledExecutorService WATCHER = Executors.newSingleThreadScheduledExecutor(r -> {
    Thread t = new Thread(r, "adopted-process-watch");
    t.setDaemon(true);
    return t;
  });

  private final ProcessHandle handle;
  private final Instant startedAt;
  private final CompletableFuture<ExitStatus> exit = new CompletableFuture<>();
  private final ScheduledFuture<?> poll;

  AdoptedProcess(ProcessHandle handle, Instant startedAt) {
    this.handle = handle;
    this.startedAt = startedAt;
    this.poll = WATCHER.scheduleWithFixedDelay(this::check, 0, POLL_MS, TimeUnit.MILLISECONDS);
  }

  private void check() {
    if (!isAlive()) {
      poll.cancel(false);
      exit.complete(ExitStatus.unknown());
    }
  }

  @Override
  public long pid() {
    return handle.pid();
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
    return handle.isAlive() && ProcessTable.isRunning(handle.pid());
  }

  @Override
  public void terminate() {
    handle.destroy();
  }

  @Override
  public void kill() {
    handle.destroyForcibly();
  }
}
