package io.mpqemu.agent.process;

import java.time.Instant;
import java.util.concurrent.CompletableFuture;

/** A process the agent watches: one it started, or one it adopted after a restart. */
public interface RunningProcess {

  long pid();

  /** As the kernel reports it; with the pid, identifies the process across agent restarts. */
  Instant startedAt();

  /** Completes once the process has exited (and, for a child, was reaped). */
  CompletableFuture<ExitStatus> onExit();

  boolean isAlive();

  /** SIGTERM. */
  void terminate();

  /** SIGKILL. */
  void kill();
}
