package io.mpqemu.controlplane.leadership;

import java.time.Instant;

/**
 * The lease as the database last confirmed it: who holds it, in which epoch, and until when by the
 * database's clock (informative: a holder times its own lease on its monotonic clock, never on this).
 */
public record Term(String holder, long epoch, Instant acquiredAt, Instant expiresAt) {}
