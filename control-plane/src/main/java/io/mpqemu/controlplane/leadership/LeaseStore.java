package io.mpqemu.controlplane.leadership;

import java.time.Duration;

/** The lease row, behind one to three calls, each one statement; every call blocks (run it off the event loop). */
public interface LeaseStore extends AutoCloseable {

  /**
   * Takes the lease for {@code holder} when it is free or expired (a new term: the epoch grows), or
   * renews it when {@code holder} holds it unexpired (the same term), for {@code length} from the
   * database's now; answers the term as it stands afterwards: {@code holder}'s, or another holder's
   * unexpired one.
   */
  Term acquireOrRenew(String holder, Duration length);

  /** Ends {@code holder}'s term {@code epoch} at once, if it still holds it: another may take the lease now. */
  void release(String holder, long epoch);

  /** The lease as it stands. */
  Term current();

  @Override
  void close();
}
