package io.mpqemu.controlplane.store;

import static io.mpqemu.controlplane.store.StoreFixtures.oneEvent;
import static org.assertj.core.api.Assertions.assertThat;

import io.mpqemu.testing.Await;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/**
 * What wakes a standby: PostgreSQL's NOTIFY, sent by a commit that recorded events, reaching a LISTEN on a
 * connection of its own; and, after the database was away, the watch listening again and waking once for
 * whatever was recorded meanwhile.
 */
class PostgresEventWatchTest {

  private static final Duration WITHIN = Duration.ofSeconds(20);
  private static StoreEngine.Postgres engine;

  @BeforeAll
  static void start() throws Exception {
    engine = StoreEngine.postgres("watch");
  }

  @AfterAll
  static void stop() {
    engine.close();
  }

  @Test
  @DisplayName("a commit that recorded an event wakes the watch of another connection; a restart of the database is"
      + " followed by a wake-up once it listens again")
  void commitsWakeTheWatch() throws Exception {
    AtomicInteger wakes = new AtomicInteger();
    try (Store writer = engine.openEmpty(); AutoCloseable watch = engine.target().watchEvents(wakes::incrementAndGet)) {
      Await.atMost(WITHIN).until(() -> wakes.get() >= 1, "the watch to listen (it wakes once when it starts)");
      int before = wakes.get();

      writer.commit(oneEvent("vm-1"));
      Await.atMost(WITHIN).until(() -> wakes.get() > before, "a wake-up for the committed event");

      int beforeRestart = wakes.get();
      engine.server().stop();
      engine.server().start();
      Await.atMost(WITHIN).until(() -> wakes.get() > beforeRestart, "a wake-up once it listens again");
      int afterRestart = wakes.get();
      writer.commit(oneEvent("vm-2")); // its connection was lost: it connects again for this commit
      Await.atMost(WITHIN).until(() -> wakes.get() > afterRestart, "a wake-up for an event after the restart");
    }
  }
}
