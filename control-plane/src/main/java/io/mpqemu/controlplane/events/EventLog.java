package io.mpqemu.controlplane.events;

import io.mpqemu.controlplane.store.StoreExecutor;
import io.mpqemu.v1.VmEvent;
import io.vertx.core.Future;
import java.util.ArrayDeque;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Hands recorded events to subscribers: first every recorded event after the subscriber's seq, read
 * from the store, then live ones, with no gap and no duplicate across the switch. Runs on the control
 * plane's event loop; {@link #published} is called there after each commit, in seq order.
 *
 * <p>A subscription registers for live events before it reads the store, and drops live events
 * whose seq it already replayed: an event committed meanwhile is seen twice and sent once, and no
 * event can fall between the read and the registration.
 */
public final class EventLog {

  static final int REPLAY_BATCH = 1000;
  /** Live events a subscriber may leave untaken before it is cut off: bounds its memory. */
  static final int MAX_PENDING = 10_000;

  private final StoreExecutor store;
  private final Map<Long, Subscription> subscriptions = new ConcurrentHashMap<>();
  private final AtomicLong ids = new AtomicLong();
  /** Replay reads under way, for tests that wait for subscriptions to settle. */
  private int readsInFlight;
  private long lastSeq;
  /** The oldest seq the log keeps (1 until retention removes events); events before it are gone. */
  private volatile long firstSeq = 1;

  public EventLog(StoreExecutor store, long lastSeq) {
    this.store = store;
    this.lastSeq = lastSeq;
  }

  /** Retention removed every event before {@code seq}. */
  public void retainedFrom(long seq) {
    firstSeq = Math.max(firstSeq, seq);
  }

  /** The oldest seq kept. */
  public long firstSeq() {
    return firstSeq;
  }

  public long lastSeq() {
    return lastSeq;
  }

  public int subscriberCount() {
    return subscriptions.size();
  }

  /** Events just committed, in seq order. */
  public void published(List<VmEvent> events) {
    for (VmEvent e : events) {
      lastSeq = Math.max(lastSeq, e.getSeq());
      for (Subscription s : List.copyOf(subscriptions.values())) {
        s.live(e);
      }
    }
  }

  /**
   * Subscribes from {@code fromSeq} (exclusive; 0 for the oldest kept), only {@code vmId}'s events when
   * it is not empty. The returned runnable ends the subscription. A {@code fromSeq} before the oldest kept
   * event ends it at once with {@link EventSink#outOfRange}: the events in between are gone.
   */
  public Runnable subscribe(long fromSeq, String vmId, EventSink sink) {
    return subscribe(fromSeq, vmId, sink, Long.MAX_VALUE);
  }

  /**
   * Subscribes as above, but ends ({@link EventSink#complete}) once every event up to {@code endSeq}
   * was sent: a snapshot when {@code endSeq} is the log's end at the time of the call.
   */
  public Runnable subscribe(long fromSeq, String vmId, EventSink sink, long endSeq) {
    if (fromSeq > 0 && fromSeq + 1 < firstSeq) {
      sink.outOfRange(firstSeq);
      return () -> { };
    }
    long id = ids.incrementAndGet();
    Subscription s = new Subscription(id, fromSeq, vmId, sink, endSeq);
    subscriptions.put(id, s);
    s.replay();
    return s::end;
  }

  private final class Subscription {
    private final long id;
    private final String vmId;
    private final EventSink sink;
    private final ArrayDeque<VmEvent> pending = new ArrayDeque<>();
    private final long endSeq;
    private long sentSeq;
    private boolean replayDone;
    private boolean replayStarted;
    private boolean ended;

    Subscription(long id, long fromSeq, String vmId, EventSink sink, long endSeq) {
      this.id = id;
      this.sentSeq = fromSeq;
      this.vmId = vmId;
      this.sink = sink;
      this.endSeq = endSeq;
    }

    /** Reads the next batch after what was sent; waits for the subscriber while it is full. */
    void replay() {
      if (ended) {
        return;
      }
      if (!sink.writable()) {
        sink.drainHandler(this::replay);
        return;
      }
      long after = sentSeq;
      readsInFlight++;
      store.read(st -> st.events(after, vmId, REPLAY_BATCH)).onComplete(ar -> {
        readsInFlight--;
        if (ended) {
          return;
        }
        if (ar.failed()) {
          end();
          sink.fail(ar.cause());
          return;
        }
        if (removedUnderIt(ar.result())) {
          end();
          sink.outOfRange(firstSeq);
          return;
        }
        for (VmEvent e : ar.result()) {
          if (e.getSeq() > endSeq) {
            break;
          }
          send(e);
        }
        boolean pastEnd = !ar.result().isEmpty() && ar.result().get(ar.result().size() - 1).getSeq() >= endSeq;
        if (pastEnd || endSeq != Long.MAX_VALUE && ar.result().size() < REPLAY_BATCH) {
          end();
          sink.complete(); // a snapshot: everything up to its end was sent
        } else if (ar.result().size() == REPLAY_BATCH) {
          replay();
        } else {
          replayDone = true;
          pump();
        }
      });
    }

    /**
     * Whether retention removed events this subscriber had not been sent yet (while it read, or while it
     * was asked for): a whole-log subscriber sees the gap in seqs; a one-VM subscriber, whose events are
     * not consecutive, by where the log starts now.
     */
    private boolean removedUnderIt(List<VmEvent> batch) {
      if (sentSeq == 0 && !replayStarted) {
        replayStarted = true;
        return false; // from the oldest kept, whatever that is
      }
      replayStarted = true;
      if (vmId.isEmpty()) {
        return !batch.isEmpty() && batch.get(0).getSeq() > sentSeq + 1;
      }
      return sentSeq + 1 < firstSeq;
    }

    void live(VmEvent e) {
      if (endSeq != Long.MAX_VALUE) {
        return; // a snapshot takes recorded events only
      }
      if (ended || !vmId.isEmpty() && !vmId.equals(e.getVmId())) {
        return;
      }
      pending.addLast(e);
      if (pending.size() > MAX_PENDING) {
        end();
        sink.overflow(sentSeq);
        return;
      }
      if (replayDone) {
        pump();
      }
    }

    private void pump() {
      while (!ended && !pending.isEmpty() && sink.writable()) {
        send(pending.removeFirst());
      }
      if (!ended && !pending.isEmpty()) {
        sink.drainHandler(this::pump);
      }
    }

    /** Sends unless it was sent already (an event committed during the replay is seen twice). */
    private void send(VmEvent e) {
      if (e.getSeq() > sentSeq) {
        sink.write(e);
        sentSeq = e.getSeq();
      }
    }

    void end() {
      ended = true;
      pending.clear();
      subscriptions.remove(id);
    }
  }

  /** Replay reads under way; read it on the control plane's loop. For tests. */
  int readsInFlight() {
    return readsInFlight;
  }

  /** For tests and metrics. */
  Future<Long> storedLastSeq() {
    return store.call(st -> st.lastSeq());
  }
}
