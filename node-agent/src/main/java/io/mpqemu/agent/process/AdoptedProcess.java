package io.mpqemu.agent.process;

import java.time.Instant;
import java.util.concurrent.CompletableFuture;

/**
 * A process found running after an agent restart. It is not our child, so its exit status cannot be
 * learned; the JDK notices its exit by polling.
 */
final class AdoptedProcess implements RunningProcess {

  private final ProcessHandle handle;
  private final Instant startedAt;
  private final CompletableFuture<ExitStatus> exit;

  AdoptedProcess(ProcessHandle handle, Instant startedAt) {
    this.handle = handle;
    this.startedAt = startedAt;
    this.exit = handle.onExit().thenApply(h -> ExitStatus.unknown());
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
    return handle.isAlive();
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
