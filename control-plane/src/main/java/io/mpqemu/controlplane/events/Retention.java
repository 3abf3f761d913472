package io.mpqemu.controlplane.events;

import io.mpqemu.controlplane.store.Store;
import io.mpqemu.controlplane.store.StoreExecutor;
import io.mpqemu.errors.Echo;
import io.mpqemu.errors.Failures;
import io.mpqemu.v1.VmEvent;
import io.mpqemu.wire.Timestamps;
import io.vertx.core.Future;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * How long the event log keeps events: an event stays while it is among the last {@code keepLast} or
 * younger than {@code keepFor} (by the time it carries); older ones are removed by {@link #prune}, run
 * periodically. The log stays gap-free from its first kept seq; a subscriber asking to resume before it
 * gets OUT_OF_RANGE naming it.
 *
 * @param keepLast events kept whatever their age
 * @param keepFor age under which events are kept whatever their number
 */
public record Retention(long keepLast, Duration keepFor) {

  private static final Logger LOG = LoggerFactory.getLogger(Retention.class);

  private static final Pattern AGE = Pattern.compile("^([0-9]{1,9})([smhd])$");

  /** 100,000 events, or a week. */
  public static final Retention DEFAULT = new Retention(100_000, Duration.ofDays(7));

  public Retention {
    if (keepLast < 1) {
      throw new IllegalArgumentException("the event log must keep at least the last event, not " + keepLast);
    }
    if (keepFor.isNegative()) {
      throw new IllegalArgumentException("an event retention age cannot be negative: " + keepFor);
    }
  }

  /** An age as an operator writes it: a number and s, m, h or d ({@code 90s}, {@code 12h}, {@code 7d}). */
  public static Duration parseAge(String option, String text) {
    Matcher m = AGE.matcher(text);
    if (!m.matches()) {
      throw new IllegalArgumentException(option + " must be a number followed by s, m, h or d (90s, 30m, 12h, 7d), not '"
          + Echo.of(text) + "'");
    }
    long n = Long.parseLong(m.group(1));
    return switch (m.group(2)) {
      case "s" -> Duration.ofSeconds(n);
      case "m" -> Duration.ofMinutes(n);
      case "h" -> Duration.ofHours(n);
      default -> Duration.ofDays(n);
    };
  }

  /**
   * The first seq to keep in a log of events {@code first..last}: the later of the count's and the age's
   * limits is the one that removes less, so the smaller of the two seqs wins.
   */
  long firstKept(Store store, long first, long last, Instant now) {
    if (last - first + 1 <= keepLast) {
      return first;
    }
    long byCount = last - keepLast + 1;
    return Math.min(byCount, firstYoungerThan(store, first, byCount, now.minus(keepFor)));
  }

  /** The first seq in {@code [low, high)} whose event is not older than {@code cutoff}, or {@code high}: a binary search. */
  private static long firstYoungerThan(Store store, long low, long high, Instant cutoff) {
    long lo = low;
    long hi = high;
    while (lo < hi) {
      long mid = lo + (hi - lo) / 2;
      List<VmEvent> at = store.events(mid - 1, "", 1);
      if (at.isEmpty() || !Timestamps.instant(at.get(0).getTime()).isBefore(cutoff)) {
        hi = mid;
      } else {
        lo = mid + 1;
      }
    }
    return lo;
  }

  /** Removes what this retention lets go, and tells the log where it now starts. */
  public Future<Long> prune(StoreExecutor store, EventLog log, Clock clock) {
    Instant now = clock.instant();
    return store.call(st -> {
      long first = st.firstSeq();
      long last = st.lastSeq();
      if (first == 0) {
        return 0L;
      }
      long keepFrom = firstKept(st, first, last, now);
      if (keepFrom > first) {
        int removed = st.deleteEventsBefore(keepFrom);
        LOG.info("event log: removed {} event(s) before seq {} (kept: the last {} and those younger than {})", removed,
            keepFrom, keepLast, keepFor);
      }
      return keepFrom;
    }).onSuccess(log::retainedFrom)
        .onFailure(e -> LOG.warn("event log: could not remove old events: {}", Failures.describe(e)));
  }
}
