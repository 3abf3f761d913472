package io.mpqemu.agent.process;

import java.time.Instant;
import java.util.concurrent.CompletableFuture;

/** What a started and an adopted process share: a handle, a start time, an exit to wait for. */
abstract class HandleProcess implements RunningProcess {

  private final ProcessHandle handle;
  private final Instant startedAt;

  HandleProcess(ProcessHandle handle, Instant startedAt) {
    this.handle = handle;
    this.startedAt = startedAt;
  }

  final ProcessHandle handle() {
    return handle;
  }

  @Override
  public final long pid() {
    return handle.pid();
  }

  @Override
  public final Instant startedAt() {
    return startedAt;
  }

  @Override
  public abstract CompletableFuture<ExitStatus> onExit();

  @Override
  public final void terminate() {
    handle.destroy();
  }

  @Override
  public final void kill() {
    handle.destroyForcibly();
  }
}
