package io.mpqemu.agent.console;

import io.mpqemu.agent.state.ConsoleLog;
import io.mpqemu.agent.state.VmPaths;
import io.vertx.core.Future;
import io.vertx.core.Context;
import java.time.Clock;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.BiConsumer;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Follows the console log of each VM that waits for its ready pattern, from where the log ended when its
 * launch started (or when it was adopted), and says when the pattern matched. It reads the log, not the
 * console socket: a client of that socket that reads late makes QEMU log a byte twice (it logs a byte
 * it must retry), so the agent connects only while a session is attached. Agent's loop only.
 */
final class ReadyWatches {

  private static final Logger LOG = LoggerFactory.getLogger(Consoles.class);

  /** How often each waiting VM's log is read. */
  static final long POLL_MILLIS = 200;
  private static final int READ_AT_MOST = 64 * 1024;

  private final Context agent;
  private final Function<String, VmPaths> paths;
  private final BiConsumer<String, java.time.Instant> ready;
  private final Clock clock;
  private final Map<String, Watch> watches = new HashMap<>();
  private long timer = -1;

  /** @param ready told the VM id and when, once per watch that matched */
  ReadyWatches(Context agent, Function<String, VmPaths> paths, BiConsumer<String, java.time.Instant> ready, Clock clock) {
    this.agent = agent;
    this.paths = paths;
    this.ready = ready;
    this.clock = clock;
  }

  /** Starts waiting for {@code pattern} in what the VM's console writes from now on. */
  void start(String vmId, String pattern) {
    stop(vmId);
    Watch w = new Watch(vmId, new ReadyWatch(io.mpqemu.spec.ReadyPattern.compile(pattern)), paths.apply(vmId));
    watches.put(vmId, w);
    w.busy = true;
    agent.executeBlocking(() -> ConsoleLog.end(w.paths), false).onComplete(ar -> {
      w.busy = false;
      if (ar.succeeded()) {
        w.offset = ar.result();
      } else {
        LOG.warn("vm={} cannot read its console log, so its ready pattern is not watched: {}", vmId,
            ar.cause().getMessage());
        watches.remove(vmId, w);
      }
    });
    if (timer < 0) {
      timer = agent.owner().setPeriodic(POLL_MILLIS, id -> agent.runOnContext(v -> poll()));
    }
  }

  void stop(String vmId) {
    watches.remove(vmId);
    if (watches.isEmpty() && timer >= 0) {
      agent.owner().cancelTimer(timer);
      timer = -1;
    }
  }

  void stopAll() {
    for (String vmId : List.copyOf(watches.keySet())) {
      stop(vmId);
    }
  }

  private void poll() {
    for (Watch w : List.copyOf(watches.values())) {
      if (w.busy) {
        continue;
      }
      w.busy = true;
      long from = w.offset;
      Future<ConsoleLog.Since> read = agent.executeBlocking(() -> ConsoleLog.since(w.paths, from, READ_AT_MOST), false);
      read.onComplete(ar -> {
        w.busy = false;
        if (watches.get(w.vmId) != w || ar.failed()) {
          return; // stopped meanwhile, or the log is gone with the VM: the next poll or a stop settles it
        }
        w.offset = ar.result().next();
        if (w.watch.feed(ar.result().data())) {
          stop(w.vmId);
          ready.accept(w.vmId, clock.instant());
        }
      });
    }
  }

  private static final class Watch {
    final String vmId;
    final ReadyWatch watch;
    final VmPaths paths;
    long offset;
    boolean busy;

    Watch(String vmId, ReadyWatch watch, VmPaths paths) {
      this.vmId = vmId;
      this.watch = watch;
      this.paths = paths;
    }
  }
}
