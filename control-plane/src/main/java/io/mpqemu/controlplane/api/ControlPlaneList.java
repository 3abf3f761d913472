package io.mpqemu.controlplane.api;

import io.mpqemu.controlplane.leadership.LeaseStore;
import io.mpqemu.controlplane.leadership.Member;
import io.mpqemu.controlplane.leadership.Term;
import io.mpqemu.v1.ControlPlane;
import io.mpqemu.v1.ListControlPlanesResponse;
import io.mpqemu.wire.Timestamps;
import java.time.Duration;
import java.time.Instant;
import java.util.List;

/** ListControlPlanes' answer, from the announcements and the lease as the database has them. */
public final class ControlPlaneList {

  private ControlPlaneList() {}

  /** The control planes sharing the store: the lease's holder leads while its lease has not expired. */
  public static ListControlPlanesResponse of(LeaseStore.Members members) {
    ListControlPlanesResponse.Builder answer = ListControlPlanesResponse.newBuilder();
    Term lease = members.lease();
    boolean held = !lease.holder().isEmpty() && lease.expiresAt().isAfter(members.now());
    for (Member m : members.all()) {
      boolean leader = held && lease.holder().equals(m.id());
      answer.addControlPlanes(ControlPlane.newBuilder().setId(m.id()).setLeader(leader)
          .setLeaderEpoch(leader ? lease.epoch() : 0)
          .setLeaseAgeMillis(leader ? Math.max(0, Duration.between(lease.acquiredAt(), members.now()).toMillis()) : 0)
          .addAllAddresses(m.addresses()).setStartedAt(Timestamps.of(m.startedAt()))
          .setLastSeen(Timestamps.of(m.lastSeen())));
    }
    return answer.build();
  }

  /** A control plane alone on its store (SQLite): itself, leading in epoch 0. */
  public static ListControlPlanesResponse alone(List<String> addresses, Instant startedAt, Instant now) {
    return ListControlPlanesResponse.newBuilder().addControlPlanes(ControlPlane.newBuilder().setId("").setLeader(true)
        .addAllAddresses(addresses).setStartedAt(Timestamps.of(startedAt)).setLastSeen(Timestamps.of(now))).build();
  }
}
