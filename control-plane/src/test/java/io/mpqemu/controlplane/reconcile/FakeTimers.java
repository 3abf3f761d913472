package io.mpqemu.controlplane.reconcile;

import io.mpqemu.testing.ManualTime;
import java.time.Duration;

/** The reconciler's {@link Timers} on a {@link ManualTime}: time moves only when the test advances it. */
public final class FakeTimers extends ManualTime implements Timers {

  @Override
  public void schedule(Duration delay, Runnable action) {
    after(delay, action);
  }
}
