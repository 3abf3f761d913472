package io.mpqemu.agent.vm;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * Timers and a clock that move only when the test says so: {@link #advance} runs every timer that
 * falls due, in order. Use it on the event loop, as the supervisor does.
 */
final class FakeTimers implements Timers {

  private record Scheduled(long id, Instant due, Duration delay, Runnable action) {}

  private final List<Scheduled> pending = new ArrayList<>();
  private Instant now = Instant.parse("2030-01-01T00:00:00Z");
  private long nextId;

  @Override
  public synchronized long schedule(Duration delay, Runnable action) {
    long id = ++nextId;
    pending.add(new Scheduled(id, now.plus(delay), delay, action));
    return id;
  }

  @Override
  public synchronized void cancel(long id) {
    pending.removeIf(s -> s.id() == id);
  }

  /** Moves time on by {@code by}, running each timer that falls due on the way. */
  void advance(Duration by) {
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
  synchronized List<Duration> pendingDelays() {
    return pending.stream().map(Scheduled::delay).toList();
  }

  synchronized Instant now() {
    return now;
  }

  Clock clock() {
    FakeTimers self = this;
    return new Clock() {
      @Override
      public ZoneOffset getZone() {
        return ZoneOffset.UTC;
      }

      @Override
      public Clock withZone(java.time.ZoneId zone) {
        return this;
      }

      @Override
      public Instant instant() {
        return self.now();
      }
    };
  }
}
