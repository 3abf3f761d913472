package io.mpqemu.controlplane.reconcile;

import java.time.Duration;

/** One-shot timers on the control plane's event loop, injected so that tests move time without sleeping. */
@FunctionalInterface
public interface Timers {

  /** Runs {@code action} on the event loop once {@code delay} has passed. */
  void schedule(Duration delay, Runnable action);
}
