package io.mpqemu.agent.api;

import io.mpqemu.access.RefusalLog;
import io.mpqemu.agent.fence.FenceException;
import java.time.Clock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Fencing refusals in the log: one WARN line per kind (method, why, epoch) at once, then at most one a
 * minute for the same kind, saying how many it stood for ({@link RefusalLog}): a stale control plane that
 * retries every reconciliation pass costs a line a minute, as the access refusals do. Thread-safe.
 */
final class FenceRefusals {

  private final RefusalLog log;

  FenceRefusals(Clock clock) {
    this(LoggerFactory.getLogger(FenceRefusals.class), clock);
  }

  FenceRefusals(Logger log, Clock clock) {
    this.log = new RefusalLog(log, clock);
  }

  void refused(String nodeId, String method, String vmId, FenceException e) {
    log.refused(method + " " + e.kind() + " " + e.epoch(), "node=" + nodeId + " " + method + " of VM " + vmId
        + " refused: " + e.getMessage() + (e.getCause() == null ? "" : " [" + e.getCause() + "]"));
  }
}
