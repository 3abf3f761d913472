package io.mpqemu.agent.fence;

import io.vertx.core.Future;

/**
 * Lets through only the commands of the newest control plane this node has heard from. Each command
 * is admitted or refused at one point, the call of {@link #admit}, on one thread (the agent's event
 * loop): that order is the order of commands. A command whose epoch is new waits until the epoch is
 * recorded; its refusal of older epochs starts at once, before the record is durable, which only
 * refuses more. Records are made one at a time, each of the highest epoch admitted by then, so a
 * record never lowers another.
 *
 * <p>Epoch 0 means the caller does not use leadership: admitted while this node has seen no epoch,
 * refused afterwards (see node_agent.proto, "Fencing").
 */
public final class LeaderFence {

  private final EpochStore store;
  /** The highest epoch recorded durably. */
  private long recorded;
  /** The highest epoch admitted; at least {@link #recorded}, more while a record is under way. */
  private long seen;
  /** The last record asked for: the next waits for it. */
  private Future<Void> records = Future.succeededFuture();

  /** A fence that remembers {@code recorded}, read from {@code store}'s record at start-up. */
  public LeaderFence(long recorded, EpochStore store) {
    if (recorded < 0) {
      throw new IllegalArgumentException("a recorded leader epoch cannot be negative: " + recorded);
    }
    this.recorded = recorded;
    this.seen = recorded;
    this.store = store;
  }

  /**
   * Admits a command of {@code epoch}: succeeds once it may act, fails with a {@link FenceException}
   * if it may not. Call on the thread that orders commands, before the command does anything.
   */
  public Future<Void> admit(long epoch) {
    if (epoch < 0) {
      throw new IllegalArgumentException("leader epoch must be at most " + Long.MAX_VALUE + ", was "
          + Long.toUnsignedString(epoch));
    }
    if (epoch == 0) {
      return seen == 0 ? Future.succeededFuture() : Future.failedFuture(FenceException.noEpoch(seen));
    }
    if (epoch < seen) {
      return Future.failedFuture(FenceException.stale(epoch, seen));
    }
    if (epoch <= recorded) {
      return Future.succeededFuture();
    }
    seen = epoch;
    // after the previous record, whether it worked or not: a failed one is tried again here
    Future<Void> mine = records.otherwiseEmpty().compose(previous -> recordUpTo(epoch));
    records = mine;
    return mine;
  }

  /** The highest epoch recorded durably: what a restarted agent would remember. */
  public long highest() {
    return recorded;
  }

  private Future<Void> recordUpTo(long epoch) {
    if (recorded >= epoch) {
      return Future.succeededFuture(); // a later command's record covered this one
    }
    long target = seen;
    return store.record(target)
        .<Void>map(done -> {
          recorded = Math.max(recorded, target);
          return null;
        })
        .recover(e -> Future.failedFuture(FenceException.unrecorded(epoch, e)));
  }
}
