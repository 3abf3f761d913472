package io.mpqemu.controlplane.leadership;

import java.time.Instant;

/**
 * The lease as the database last confirmed it: who holds it, in which epoch, since when, last renewed and
 * until when by the database's clock (informative: a holder times its own lease on its monotonic clock,
 * never on these).
 */
public record Term(String holder, long epoch, Instant acquiredAt, Instant renewedAt, Instant expiresAt) {

  /** True when this answer began the term (it was taken now), false when it renewed a term already held. */
  public boolean begun() {
    return acquiredAt.equals(renewedAt);
  }
}
