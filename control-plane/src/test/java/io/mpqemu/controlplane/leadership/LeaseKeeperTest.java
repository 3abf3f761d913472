package io.mpqemu.controlplane.leadership;

import static org.assertj.core.api.Assertions.assertThat;

import io.mpqemu.controlplane.store.PostgresLease;
import io.mpqemu.controlplane.store.PostgresStore;
import io.mpqemu.controlplane.store.PostgresTarget;
import io.mpqemu.testing.Await;
import io.mpqemu.testing.PostgresServer;
import io.vertx.core.Context;
import io.vertx.core.Vertx;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/**
 * The lease on a real PostgreSQL, with two control planes' keepers racing for it (short settings: a 2 s
 * lease, 1.4 s renew deadline, an attempt every 300 ms). Bounds are generous multiples of the settings, so a
 * loaded machine does not flake; the benchmark records the real figures.
 */
class LeaseKeeperTest {

  private static final LeaseSettings FAST = new LeaseSettings(Duration.ofMillis(2000), Duration.ofMillis(1400),
      Duration.ofMillis(300));
  private static final Duration WAIT = Duration.ofSeconds(20);
  private static PostgresServer server;

  private PostgresTarget target;
  private Vertx vertx;
  private final List<Keeper> keepers = new ArrayList<>();

  /** One control plane's keeper, with what it was told, when. */
  private final class Keeper implements LeaseKeeper.Listener {
    final List<String> told = new CopyOnWriteArrayList<>();
    volatile long electedAt;
    volatile long lostAt;
    final LeaseKeeper keeper;
    final Context loop = vertx.getOrCreateContext();

    Keeper(String name) {
      keeper = new LeaseKeeper(vertx, new PostgresLease(target), name, FAST, this);
      loop.runOnContext(v -> keeper.start());
      keepers.add(this);
    }

    @Override
    public void elected(Term term, Term before) {
      electedAt = System.nanoTime();
      told.add("elected " + term.epoch() + (before == null ? "" : " after " + before.holder() + " " + before.epoch()));
    }

    /**
     * Leads, and was told so: the keeper leads from before it tells its listener (both on its loop), so a
     * test that checked {@code leads()} alone could read {@link #told} a moment too early.
     */
    boolean elected() {
      return keeper.leads() && !told.isEmpty() && told.get(told.size() - 1).startsWith("elected");
    }

    @Override
    public void lost(long epoch, String why) {
      lostAt = System.nanoTime();
      told.add("lost " + epoch);
    }
  }

  @BeforeAll
  static void startPostgres() throws Exception {
    server = PostgresServer.create();
  }

  @AfterAll
  static void stopPostgres() {
    server.close();
  }

  @BeforeEach
  void start() throws Exception {
    PostgresServer.Database database = server.createDatabase("lease");
    target = PostgresTarget.parse(database.url(), database.password());
    PostgresStore.open(target).close(); // the schema, with the lease row
    vertx = Vertx.vertx();
  }

  @AfterEach
  void stop() {
    for (Keeper k : keepers) {
      Await.result(onLoop(k, () -> k.keeper.stop()));
    }
    Await.result(vertx.close());
  }

  @Test
  @DisplayName("the first control plane takes the lease in epoch 1; a second one does not lead while the first renews")
  void oneLeads() {
    Keeper a = new Keeper("cp-a");
    Await.atMost(WAIT).until(() -> a.elected(), "cp-a to lead");
    Keeper b = new Keeper("cp-b");
    Await.sleep(FAST.length().multipliedBy(2).toMillis());

    assertThat(a.told).containsExactly("elected 1");
    assertThat(b.told).isEmpty();
    assertThat(b.keeper.leads()).isFalse();
    assertThat(b.keeper.describe()).isEqualTo("standby: cp-a leads in epoch 1");
    assertThat(a.keeper.leads()).isTrue();
    try (PostgresLease lease = new PostgresLease(target)) {
      assertThat(lease.current().holder()).isEqualTo("cp-a");
      assertThat(lease.current().epoch()).isEqualTo(1);
    }
  }

  @Test
  @DisplayName("a leader that stops renewing (killed) loses the lease when it expires: the other leads in epoch 2, within the lease and a retry or so")
  void killedLeaderIsReplaced() {
    Keeper a = new Keeper("cp-a");
    Await.atMost(WAIT).until(() -> a.elected(), "cp-a to lead");
    Keeper b = new Keeper("cp-b");
    long killedAt = System.nanoTime();
    a.loop.runOnContext(v -> a.keeper.abandon());

    Await.atMost(WAIT).until(() -> b.elected(), "cp-b to lead");
    assertThat(b.told).containsExactly("elected 2 after cp-a 1");
    assertThat(b.keeper.describe()).isEqualTo("leads in epoch 2");
    assertThat(Duration.ofNanos(b.electedAt - killedAt)).as("kill to new leader")
        .isLessThan(FAST.length().plus(FAST.retryPeriod()).multipliedBy(3));
  }

  @Test
  @DisplayName("a clean stop releases the lease at once: the other leads at its next attempt, long before the lease would have expired")
  void cleanStopHandsOver() {
    Keeper a = new Keeper("cp-a");
    Await.atMost(WAIT).until(() -> a.elected(), "cp-a to lead");
    Keeper b = new Keeper("cp-b");
    Await.sleep(FAST.retryPeriod().multipliedBy(2).toMillis());
    long stoppedAt = System.nanoTime();
    Await.result(onLoop(a, () -> a.keeper.stop()));
    keepers.remove(a);

    Await.atMost(WAIT).until(() -> b.elected(), "cp-b to lead");
    assertThat(a.told).containsExactly("elected 1", "lost 1");
    assertThat(b.told).containsExactly("elected 2 after cp-a 1");
    assertThat(Duration.ofNanos(b.electedAt - stoppedAt)).isLessThan(FAST.length());
  }

  @Test
  @DisplayName("cut from the database, the leader steps down by itself before its lease could expire, and leads in a new epoch once the database is back after the lease ran out")
  void cutLeaderStepsDownInTime() throws Exception {
    Keeper a = new Keeper("cp-a");
    Await.atMost(WAIT).until(() -> a.elected(), "cp-a to lead");
    Await.sleep(FAST.retryPeriod().multipliedBy(2).toMillis());

    long cutAt = System.nanoTime();
    server.stop();
    try {
      Await.atMost(WAIT).until(() -> !a.keeper.leads() && a.lostAt != 0, "cp-a to step down");
      assertThat(Duration.ofNanos(a.lostAt - cutAt)).as("cut to stepping down").isLessThan(FAST.length());
      Await.sleep(FAST.length().toMillis()); // down past the lease: its term is over
    } finally {
      server.start();
    }
    Await.atMost(WAIT).until(() -> a.elected(), "cp-a to lead again");
    assertThat(a.told).containsExactly("elected 1", "lost 1", "elected 2 after cp-a 1");
  }

  private <T> io.vertx.core.Future<T> onLoop(Keeper k, java.util.function.Supplier<io.vertx.core.Future<T>> work) {
    io.vertx.core.Promise<T> done = io.vertx.core.Promise.promise();
    k.loop.runOnContext(v -> work.get().onComplete(done));
    return done.future();
  }
}
