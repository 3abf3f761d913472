package io.mpqemu.controlplane.leadership;

import java.time.Instant;
import java.util.List;

/** A control plane sharing the store, as it last announced itself (times by the database's clock). */
public record Member(String id, List<String> addresses, Instant startedAt, Instant lastSeen) {

  public Member {
    addresses = List.copyOf(addresses);
  }
}
