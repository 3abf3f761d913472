package io.mpqemu.agent.vm;

import io.mpqemu.agent.AgentConfig;
import io.mpqemu.agent.events.EventHub;
import io.mpqemu.agent.process.ProcessLauncher;
import io.mpqemu.agent.process.ProcessScanner;
import io.mpqemu.agent.qemu.QemuCommandLine;
import io.mpqemu.agent.state.VmStateStore;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.time.Clock;
import java.time.Instant;
import java.util.concurrent.Callable;

/** What every VM supervisor of this node shares: configuration, the adapters, the event loop. */
public record VmRuntime(
    Vertx vertx,
    Context context,
    AgentConfig config,
    QemuCommandLine commandLine,
    QemuCommandLine.Accelerator accelerator,
    ProcessLauncher launcher,
    ProcessScanner scanner,
    VmStateStore store,
    EventHub events,
    QmpConnector qmp,
    DevicePairs socketPairs,
    Clock clock,
    Timers timers,
    ProcessConfinement confinement) {

  public String nodeId() {
    return config.nodeId();
  }

  public Instant now() {
    return clock.instant();
  }

  /** Runs blocking work on a worker; the result is delivered back on the agent's event loop. */
  public <T> Future<T> blocking(Callable<T> work) {
    return vertx.executeBlocking(work, false);
  }

  /** VM state is confined to the agent's event loop: every entry point checks it is there. */
  public void requireOnLoop() {
    if (io.vertx.core.Vertx.currentContext() != context) {
      throw new IllegalStateException("VM state touched off the agent's event loop, on " + Thread.currentThread().getName());
    }
  }

  public void runOnLoop(Runnable action) {
    context.runOnContext(v -> action.run());
  }
}
