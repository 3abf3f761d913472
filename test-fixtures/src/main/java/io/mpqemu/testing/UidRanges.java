package io.mpqemu.testing;

import java.util.concurrent.ThreadLocalRandom;

/**
 * A uid range of its own for each agent a test starts: agents on one host refuse ranges that
 * overlap a live agent's, and tests run several at once. Ranges are 4096 uids, drawn from above the
 * agent's default range so that a test never meets an agent an operator runs on the same machine.
 */
public final class UidRanges {

  private static final long FIRST = 2_100_000_000L;
  private static final long SIZE = 4096;
  private static final long SLOTS = 500_000; // up to 4148000000, below (uid_t) -1

  private UidRanges() {}

  /** "FIRST-LAST", as --uid-range takes it. */
  public static String next() {
    long first = FIRST + ThreadLocalRandom.current().nextLong(SLOTS) * SIZE;
    return first + "-" + (first + SIZE - 1);
  }
}
