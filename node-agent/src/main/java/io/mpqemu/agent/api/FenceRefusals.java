package io.mpqemu.agent.api;

import io.mpqemu.agent.fence.FenceException;
import java.time.Clock;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One WARN line per kind of fencing refusal (method, why, epoch) at once, then at most one a minute
 * for the same kind, saying how many it stood for: a stale control plane that retries every
 * reconciliation pass costs a line a minute, as the access refusals do. Thread-safe.
 */
final class FenceRefusals {

  static final Duration QUIET = Duration.ofMinutes(1);
  private static final int MAX_KINDS = 1000;

  private final Logger log;
  private final Clock clock;
  /** kind -> when it was last logged (ms), how many were not logged since. */
  private final Map<String, long[]> kinds = new HashMap<>();

  FenceRefusals(Clock clock) {
    this(LoggerFactory.getLogger(FenceRefusals.class), clock);
  }

  FenceRefusals(Logger log, Clock clock) {
    this.log = log;
    this.clock = clock;
  }

  void refused(String nodeId, String method, String vmId, FenceException e) {
    String kind = method + " " + e.kind() + " " + e.epoch();
    long unlogged;
    synchronized (kinds) {
      long now = clock.millis();
      long[] last = kinds.get(kind);
      if (last != null && now - last[0] < QUIET.toMillis()) {
        last[1]++;
        return;
      }
      if (last == null && kinds.size() >= MAX_KINDS) {
        kinds.clear(); // epochs without end: forget the counts rather than grow
      }
      unlogged = last == null ? 0 : last[1];
      kinds.put(kind, new long[] {now, 0});
    }
    log.warn("node={} {} of VM {} refused: {}{}{}", nodeId, method, vmId, e.getMessage(),
        e.getCause() == null ? "" : " [" + e.getCause() + "]",
        unlogged == 0 ? "" : " (and " + unlogged + " more like it since the last such line)");
  }
}
