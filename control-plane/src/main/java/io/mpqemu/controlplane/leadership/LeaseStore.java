package io.mpqemu.controlplane.leadership;

import java.time.Duration;
import java.time.Instant;
import java.util.List;

/**
 * The lease row and the control planes' announcements, each call one or two statements; every call blocks
 * (run it off the event loop).
 */
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

  /** Records that {@code holder} is there (serving {@code addresses} since {@code startedAt}) as of the database's now. */
  void announce(String holder, List<String> addresses, Instant startedAt);

  /**
   * Removes {@code holder}'s announcement made since {@code startedAt}: a clean stop (not that of a process
   * with the same id started since, which announces itself with its own start).
   */
  void withdraw(String holder, Instant startedAt);

  /** Every control plane that announced itself and did not withdraw, by id, with the database's now. */
  Members members();

  /** The announced control planes, and the database's clock when they were read. */
  record Members(List<Member> all, Term lease, Instant now) {}

  @Override
  void close();
}
