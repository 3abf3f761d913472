package io.mpqemu.controlplane.vm;

import java.time.Duration;

/** Waits between repeated attempts: 1 s, 2 s, 4 s ... doubling per earlier attempt, up to a maximum. */
public final class Backoff {

  private Backoff() {}

  /** The wait after {@code earlierAttempts} attempts (0 for the first retry), never more than {@code max}. */
  public static Duration after(int earlierAttempts, Duration max) {
    long millis = 1000L << Math.min(Math.max(earlierAttempts, 0), 16);
    return Duration.ofMillis(Math.min(max.toMillis(), millis));
  }
}
