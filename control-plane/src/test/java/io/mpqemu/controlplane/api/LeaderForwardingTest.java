package io.mpqemu.controlplane.api;

import static org.assertj.core.api.Assertions.assertThat;

import io.mpqemu.controlplane.leadership.Leadership;
import io.mpqemu.controlplane.leadership.Term;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Which control plane a write goes to, and the owner a forwarded call carries. The forwarding itself, over
 * UNIX sockets and over TCP under mutual TLS, is tested with real control planes (FailoverTest, and
 * HaClusterTest in the dist module).
 */
class LeaderForwardingTest {

  private final Vertx vertx = Vertx.vertx();

  @AfterEach
  void close() {
    vertx.close().await();
  }

  @Test
  void aStandbyForwardsToTheHolderItLastSaw() {
    assertThat(forwarding(false, "cp-b", term("cp-a")).leader()).contains("cp-a");
  }

  @Test
  void theLeaderForwardsNothing() {
    assertThat(forwarding(true, "cp-a", term("cp-a")).leader()).isEmpty();
  }

  @Test
  void aControlPlaneWhoseOwnLeaseLapsedForwardsToNobody() {
    // it may lead again in a moment: the write is refused UNAVAILABLE, never sent to itself
    assertThat(forwarding(false, "cp-a", term("cp-a")).leader()).isEmpty();
  }

  @Test
  void noLeaderSeenYetForwardsToNobody() {
    assertThat(forwarding(false, "cp-b", null).leader()).isEmpty();
    assertThat(forwarding(false, "cp-b", term("")).leader()).isEmpty();
  }

  @Test
  void ownersOfAnyCharacterGoThroughTheHeaderUnchanged() {
    for (String owner : new String[] {"", "unix:alice", "cert:Zoë Müller, ops", "cert:a%b\u2603", "tcp:insecure"}) {
      String header = LeaderForwarding.encode(owner);
      assertThat(header).as(owner).matches("[A-Za-z0-9%._*+-]*");
      assertThat(LeaderForwarding.owner(header)).isEqualTo(owner);
    }
  }

  @Test
  void aMissingOrMalformedOwnerIsNobody() {
    assertThat(LeaderForwarding.owner(null)).isEmpty();
    assertThat(LeaderForwarding.owner("%zz")).isEmpty();
  }

  private LeaderForwarding forwarding(boolean leads, String id, Term seen) {
    Leadership leadership = new Leadership() {
      @Override
      public boolean leads() {
        return leads;
      }

      @Override
      public long epoch() {
        return leads ? 1 : 0;
      }

      @Override
      public String id() {
        return id;
      }

      @Override
      public Optional<Term> lastSeen() {
        return Optional.ofNullable(seen);
      }
    };
    return new LeaderForwarding(vertx, leadership, () -> Future.failedFuture("not read here"), null,
        Duration.ofSeconds(5));
  }

  private static Term term(String holder) {
    Instant now = Instant.now();
    return new Term(holder, 1, now, now, now.plusSeconds(4));
  }
}
