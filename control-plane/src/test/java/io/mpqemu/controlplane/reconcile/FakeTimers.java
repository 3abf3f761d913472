package io.mpqemu.controlplane.reconcile;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/** Timers and a clock that move only when the test says so: {@link #advance} runs each timer that falls due, in order. */
public final class FakeTimers extends Clock implements Timers {

  private record Scheduled(long id, Instant due, Duration delay, Runnable action) {}

  private final List<Scheduled> pending = new ArrayList<>();
  private Instant now = Instant.parse("2030-01-01T00:00:00Z");
  private long nextId;

  @Override
  public synchronized void schedule(Duration delay, Runnable action) {
    pending.add(new Scheduled(++nextId, now.plus(delay), delay, action));
  }

  /** Moves time on by {@code by}, running each timer that falls due on the way (call it on the event loop). */
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
