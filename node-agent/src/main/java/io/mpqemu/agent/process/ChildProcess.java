package io.mpqemu.agent.process;

import java.time.Instant;
import java.util.concurrent.CompletableFuture;

/** A process this agent started: its exit status is known. */
final class ChildProcess implements RunningProcess {

  private final Process process;
  private final Instant startedAt;
  private final CompletableFuture<ExitStatus> exit;

  ChildProcess(Process process) {
    this.process = process;
    this.startedAt = StartTimes.of(process.toHandle());
    this.exit = process.onExit().thenApply(p -> ExitStatus.ofExitValue(p.exitValue()));
  }

  @Override
  public long pid() {
    return process.pid();
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
    return process.isAlive();
  }

  @Override
  public void terminate() {
    process.destroy();
  }

  @Override
  public void kill() {
    process.destroyForcibly();
  }
}
