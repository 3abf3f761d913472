package io.mpqemu.agent.process;

import java.util.concurrent.CompletableFuture;

/** A process this agent started: the JDK reaps it, so its exit status is known. */
final class ChildProcess extends HandleProcess {

  private final Process process;
  private final CompletableFuture<ExitStatus> exit;

  ChildProcess(Process process) {
    super(process.toHandle(), StartTimes.of(process.toHandle()));
    this.process = process;
    this.exit = process.onExit().thenApply(p -> ExitStatus.ofExitValue(p.exitValue()));
  }

  @Override
  public CompletableFuture<ExitStatus> onExit() {
    return exit;
  }

  @Override
  public boolean isAlive() {
    return process.isAlive();
  }
}
