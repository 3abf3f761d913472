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
final class AdoptedProcess extends HandleProcess {

  private static final long POLL_MS = 100;
  private static final ScheduledExecutorService WATCHER = Executors.newSingleThreadScheduledExecutor(r -> {
    Thread t = new Thread(r, "adopted-process-watch");
    t.setDaemon(true);
    return t;
  });

  private final CompletableFuture<ExitStatus> exit = new CompletableFuture<>();
  private volatile ScheduledFuture<?> poll;

  AdoptedProcess(ProcessHandle handle, Instant startedAt) {
    super(handle, startedAt);
    poll = WATCHER.scheduleWithFixedDelay(this::check, 0, POLL_MS, TimeUnit.MILLISECONDS);
    if (exit.isDone()) {
      poll.cancel(false); // the first check ran before poll was assigned
    }
  }

  private void check() {
    if (!isAlive()) {
      exit.complete(ExitStatus.unknown());
      ScheduledFuture<?> p = poll;
      if (p != null) {
        p.cancel(false);
      }
    }
  }

  @Override
  public CompletableFuture<ExitStatus> onExit() {
    return exit;
  }

  @Override
  public boolean isAlive() {
    return handle().isAlive() && ProcessTable.isRunning(pid());
  }
}
