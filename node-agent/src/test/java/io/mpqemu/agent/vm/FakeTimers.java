package io.mpqemu.agent.vm;

import io.mpqemu.testing.ManualTime;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;

/**
 * The supervisor's {@link Timers} on a {@link ManualTime}: time moves only when the test advances it,
 * running every timer that falls due, in order. Use it on the event loop, as the supervisor does.
 */
final class FakeTimers extends ManualTime implements Timers {

  @Override
  public long schedule(Duration delay, Runnable action) {
    return after(delay, action);
  }

  Instant now() {
    return instant();
  }

  Clock clock() {
    return this;
  }
}
