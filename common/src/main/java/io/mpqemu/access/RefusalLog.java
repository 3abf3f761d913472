package io.mpqemu.access;

import java.time.Clock;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Refusals as operators want them: the first of a kind (same caller, same thing refused) is logged at
 * once; repeats within a minute are counted, and the next line says how many there were. A local user
 * looping on a refused call costs one line a minute, not one per call. Thread-safe.
 */
public final class RefusalLog {

  static final Duration QUIET = Duration.ofMinutes(1);
  private static final int MAX_KINDS = 10_000;

  private final Logger log;
  private final Clock clock;
  private final Map<String, long[]> kinds = new ConcurrentHashMap<>(); // kind -> {last logged ms, suppressed}

  RefusalLog(Clock clock) {
    this(LoggerFactory.getLogger("io.mpqemu.access.Refused"), clock);
  }

  public RefusalLog(Logger log, Clock clock) {
    this.log = log;
    this.clock = clock;
  }

  /** Logs {@code message} (a WARN line) unless a refusal of {@code kind} was logged less than a minute ago. */
  public void refused(String kind, String message) {
    long now = clock.millis();
    long[] suppressed = {-1};
    if (kinds.size() > MAX_KINDS) {
      kinds.clear(); // many callers at once: forget the counts rather than grow
    }
    kinds.compute(kind, (k, state) -> {
      if (state == null || now - state[0] >= QUIET.toMillis()) {
        suppressed[0] = state == null ? 0 : state[1];
        return new long[] {now, 0};
      }
      state[1]++;
      return state;
    });
    if (suppressed[0] >= 0) {
      log.warn(suppressed[0] == 0 ? message : message + " (and " + suppressed[0] + " more like it in the last minute)");
    }
  }
}
