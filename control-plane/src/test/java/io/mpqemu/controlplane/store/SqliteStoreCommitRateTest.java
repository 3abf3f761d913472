package io.mpqemu.controlplane.store;

import static org.assertj.core.api.Assertions.assertThat;

import io.mpqemu.v1.EventType;
import java.nio.file.Path;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A micro-measure, printed only: how many single-event commits per second the store does here. */
class SqliteStoreCommitRateTest {

  private static final int WARM_UP = 100;
  private static final int COMMITS = 1_000;

  @TempDir
  Path dir;

  @Test
  @DisplayName("prints how many durable single-event commits per second the store does on this disk")
  void commitRate() {
    try (SqliteStore store = SqliteStore.open(dir.resolve("store.db"))) {
      for (int i = 0; i < WARM_UP; i++) {
        store.commit(StoreFixtures.oneEvent("vm-1"));
      }
      long start = System.nanoTime();
      for (int i = 0; i < COMMITS; i++) {
        store.commit(Change.builder().event(StoreFixtures.event("vm-" + (i % 10), EventType.RECONCILED)).build());
      }
      double seconds = (System.nanoTime() - start) / 1e9;
      System.out.printf("SqliteStore: %d single-event commits in %.3f s = %.0f commits/s (%.3f ms each) in %s%n",
          COMMITS, seconds, COMMITS / seconds, seconds * 1000 / COMMITS, dir);
      assertThat(store.lastSeq()).isEqualTo(WARM_UP + COMMITS);
    }
  }
}
