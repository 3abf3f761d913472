package io.mpqemu.agent.fence;

import io.vertx.core.Future;

/** Where a node keeps the highest leader epoch it has seen, so that a restart remembers it. */
public interface EpochStore {

  /** Records {@code epoch}; the future succeeds once it would survive a crash of the host. */
  Future<Void> record(long epoch);
}
