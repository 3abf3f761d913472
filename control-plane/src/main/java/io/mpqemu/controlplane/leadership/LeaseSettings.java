package io.mpqemu.controlplane.leadership;

import java.time.Duration;

/**
 * How the lease is kept: it lasts {@code length} from each renewal (by the database's clock); the leader
 * steps down when it has not confirmed a renewal within {@code renewDeadline} of sending it (by its own
 * monotonic clock), which comes before the lease can expire; every control plane tries to take or renew it
 * every {@code retryPeriod}. A killed leader's lease is taken over within about {@code length + retryPeriod}.
 */
public record LeaseSettings(Duration length, Duration renewDeadline, Duration retryPeriod) {

  /** A failover within 5 s of a leader's death: 4 s lease, 3 s renew deadline, an attempt every second. */
  public static final LeaseSettings DEFAULT = new LeaseSettings(Duration.ofSeconds(4), Duration.ofSeconds(3),
      Duration.ofSeconds(1));

  public LeaseSettings {
    if (retryPeriod.isNegative() || retryPeriod.isZero() || retryPeriod.compareTo(renewDeadline) >= 0
        || renewDeadline.compareTo(length) >= 0) {
      throw new IllegalArgumentException("the lease needs 0 < retry period < renew deadline < lease length, not "
          + retryPeriod.toMillis() + " ms, " + renewDeadline.toMillis() + " ms and " + length.toMillis() + " ms");
    }
  }
}
