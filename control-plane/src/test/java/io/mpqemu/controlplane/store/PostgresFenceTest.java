package io.mpqemu.controlplane.store;

import static io.mpqemu.controlplane.store.StoreFixtures.oneEvent;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.mpqemu.controlplane.leadership.Term;
import io.mpqemu.testing.PostgresServer;
import io.mpqemu.v1.NodeInfo;
import io.mpqemu.v1.NodeState;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/** A fenced store writes only while its control plane holds the leader's lease in the epoch it says it leads in. */
class PostgresFenceTest {

  private static PostgresServer server;

  @BeforeAll
  static void startPostgres() throws Exception {
    server = PostgresServer.create();
  }

  @AfterAll
  static void stopPostgres() {
    server.close();
  }

  @Test
  @DisplayName("writes go through in the holder's epoch; before it holds the lease, in a stale epoch, and once"
      + " another took the lease, a commit is refused with UNAVAILABLE and nothing of it is written")
  void writesOnlyInTheHeldEpoch() throws Exception {
    PostgresServer.Database database = server.createDatabase("fence");
    PostgresTarget target = PostgresTarget.parse(database.url(), database.password());
    AtomicLong epoch = new AtomicLong();
    try (PostgresStore store = PostgresStore.open(target); PostgresLease lease = new PostgresLease(target)) {
      store.fenceWrites("cp-a", epoch::get);

      assertThatThrownBy(() -> store.commit(oneEvent("vm-1"))).isInstanceOfSatisfying(StoreException.class,
          e -> assertThat(e.kind()).isEqualTo(StoreException.Kind.UNAVAILABLE))
          .hasMessageContaining("this control plane (cp-a) does not lead now")
          .satisfies(e -> assertThat(((StoreException) e).callerMessage()).isEqualTo(
              "this control plane (cp-a) does not lead now: nothing was written; send writes to the leader"));
      assertThat(store.lastSeq()).isZero();

      Term term = lease.acquireOrRenew("cp-a", Duration.ofSeconds(30));
      assertThat(term.holder()).isEqualTo("cp-a");
      epoch.set(term.epoch());
      assertThat(store.commit(oneEvent("vm-1"))).singleElement().extracting(e -> e.getSeq()).isEqualTo(1L);

      epoch.set(term.epoch() + 1); // an epoch it does not hold
      assertThatThrownBy(() -> store.commit(oneEvent("vm-1"))).isInstanceOf(StoreException.class)
          .hasMessageContaining("does not lead in epoch " + (term.epoch() + 1) + " any more");

      epoch.set(term.epoch());
      lease.release("cp-a", term.epoch());
      Term other = lease.acquireOrRenew("cp-b", Duration.ofSeconds(30));
      assertThat(other.epoch()).isEqualTo(term.epoch() + 1);
      assertThatThrownBy(() -> store.commit(oneEvent("vm-1"))).isInstanceOfSatisfying(StoreException.class,
          e -> assertThat(e.kind()).isEqualTo(StoreException.Kind.UNAVAILABLE))
          .hasMessageContaining("does not lead in epoch " + term.epoch() + " any more");
      assertThat(store.lastSeq()).isEqualTo(1);
    }
  }

  @Test
  @DisplayName("the writes that record no event, a node's row and the removal of old events, pass the same fence:"
      + " in the held epoch they are written, once another leads they are refused and nothing changes")
  void nodeRowsAndRetentionAreFencedToo() throws Exception {
    PostgresServer.Database database = server.createDatabase("fence_alone");
    PostgresTarget target = PostgresTarget.parse(database.url(), database.password());
    AtomicLong epoch = new AtomicLong();
    try (PostgresStore store = PostgresStore.open(target); PostgresLease lease = new PostgresLease(target)) {
      store.fenceWrites("cp-a", epoch::get);
      StoredNode ready = new StoredNode("node-a", "unix:/run/a.sock", NodeState.NODE_STATE_READY,
          NodeInfo.getDefaultInstance(), Instant.parse("2026-12-01T10:00:00Z"));
      assertThatThrownBy(() -> store.putNode(ready)).isInstanceOfSatisfying(StoreException.class,
          e -> assertThat(e.kind()).isEqualTo(StoreException.Kind.UNAVAILABLE))
          .hasMessageContaining("this control plane (cp-a) does not lead now");
      assertThat(store.nodes()).isEmpty();

      Term term = lease.acquireOrRenew("cp-a", Duration.ofSeconds(30));
      epoch.set(term.epoch());
      store.putNode(ready);
      store.commit(oneEvent("vm-1"));
      store.commit(oneEvent("vm-1"));
      assertThat(store.nodes()).extracting(StoredNode::state).containsExactly(NodeState.NODE_STATE_READY);

      lease.release("cp-a", term.epoch());
      lease.acquireOrRenew("cp-b", Duration.ofSeconds(30));
      StoredNode lost = new StoredNode("node-a", "unix:/run/a.sock", NodeState.NODE_STATE_LOST,
          NodeInfo.getDefaultInstance(), Instant.parse("2026-12-01T10:01:00Z"));
      assertThatThrownBy(() -> store.putNode(lost)).isInstanceOf(StoreException.class)
          .hasMessageContaining("does not lead in epoch " + term.epoch() + " any more");
      assertThatThrownBy(() -> store.deleteEventsBefore(2)).isInstanceOf(StoreException.class)
          .hasMessageContaining("does not lead in epoch " + term.epoch() + " any more");
      assertThat(store.nodes()).extracting(StoredNode::state).containsExactly(NodeState.NODE_STATE_READY);
      assertThat(store.firstSeq()).isEqualTo(1);
      assertThat(store.lastSeq()).isEqualTo(2);
    }
  }
}
