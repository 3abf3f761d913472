package io.mpqemu.testing;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * A clock and one-shot timers that move only when the test says so: {@link #advance} runs each timer
 * that falls due, in order of its due time, and the clock reads that time while it runs. Each service's
 * fake timers adapt it to that service's timer interface. Run {@link #advance} where the timers would
 * fire (the event loop under test).
 */
public class ManualTime extends Clock {

  private record Scheduled(long id, Instant due, Duration delay, Runnable action) {}

  private final List<Scheduled> pending = new ArrayList<>();
  private Instant now = Instant.parse("2030-01-01T00:00:00Z");
  private long nextId;

  /** Runs {@code action} once {@code delay} has passed; the id cancels it. */
  public synchronized long after(Duration delay, Runnable action) {
    long id = ++nextId;
    pending.add(new Scheduled(id, now.plus(delay), delay, action));
    return id;
  }

  public synchronized void cancel(long id) {
    pending.removeIf(s -> s.id() == id);
  }

  /** Moves time on by {@code by}, running each timer that falls due on the way. */
  public void advance(Duration by) {
    Instant until;
    synchronized (this) {
      until = now.plus(by);
    }
    while (true) {
      Scheduled next;
      synchronized (this) {
        next = pending.stream().filter(s -> !s.due().isAfter(until)).min(Comparator.comparing(Scheduled::due)).orElse(null);
        if (next == null) {
          now = until;
          return;
        }
        pending.remove(next);
        now = next.due();
      }
      next.action().run();
    }
  }

  /** The delays of the timers not run yet, in the order they were set. */
  public synchronized List<Duration> pendingDelays() {
    return pending.stream().map(Scheduled::delay).toList();
  }

  @Override
  public synchronized Instant instant() {
    return now;
  }

  @Override
  public ZoneId getZone() {
    return ZoneOffset.UTC;
  }

  @Override
  public Clock withZone(ZoneId zone) {
    return this;
  }
}
