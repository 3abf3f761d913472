package io.mpqemu.fleet;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.function.Consumer;

/**
 * Joining the fleet again after a failed join, a few times. A member restarted while the others still
 * settle the view that dropped its previous incarnation can have a cache's join refused by the coordinator
 * (seen in the kill -9 fault runs: Infinispan's {@code org.infinispan.LOCKS} failing to start on the new
 * member); the same join a few seconds later succeeds. Without this the service exits 1 and waits for its
 * supervisor to start it again.
 */
final class JoinAttempts {

  /** The waits before the second and the third attempt. */
  static final List<Duration> WAITS = List.of(Duration.ofSeconds(3), Duration.ofSeconds(6));

  /** Sleeps; a seam for the tests. */
  interface Sleeper {
    void sleep(Duration d) throws InterruptedException;
  }

  private JoinAttempts() {}

  /**
   * Runs {@code join} until it succeeds, at most {@code waits.size() + 1} times, waiting {@code waits} in
   * between and telling {@code warn} each failure that is tried again; the last failure is thrown.
   */
  static <T> T run(Callable<T> join, List<Duration> waits, Consumer<String> warn, Sleeper sleeper) throws Exception {
    for (int attempt = 1; ; attempt++) {
      try {
        return join.call();
      } catch (Exception e) {
        if (attempt > waits.size()) {
          throw e;
        }
        Duration wait = waits.get(attempt - 1);
        warn.accept("attempt " + attempt + " of " + (waits.size() + 1) + " failed (" + e.getMessage()
            + "); trying again in " + wait.toSeconds() + " s");
        sleeper.sleep(wait);
      }
    }
  }
}
