package io.mpqemu.controlplane.events;

import static org.assertj.core.api.Assertions.assertThat;

import io.mpqemu.controlplane.store.Change;
import io.mpqemu.controlplane.store.SqliteStore;
import io.mpqemu.controlplane.store.StoreExecutor;
import io.mpqemu.testing.Await;
import io.mpqemu.v1.EventType;
import io.mpqemu.v1.VmEvent;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

@DisplayName("The event log's subscriptions, over a real SQLite store")
class EventLogTest {

  @TempDir
  Path dir;

  private Vertx vertx;
  private Context loop;
  private StoreExecutor store;
  private EventLog log;

  /** A sink that records, and can be told to stop taking events (a subscriber that does not read). */
  private static final class RecordingSink implements EventSink {
    final List<VmEvent> received = new ArrayList<>();
    boolean blocked;
    Long overflowAt;
    Runnable drain;

    @Override
    public boolean writable() {
      return !blocked;
    }

    @Override
    public void write(VmEvent event) {
      received.add(event);
    }

    @Override
    public void drainHandler(Runnable onDrain) {
      drain = onDrain;
    }

    @Override
    public void overflow(long lastSeq) {
      overflowAt = lastSeq;
    }

    long outOfRangeAt = -1;

    @Override
    public void outOfRange(long firstKept) {
      outOfRangeAt = firstKept;
    }

    boolean completed;

    @Override
    public void complete() {
      completed = true;
    }

    @Override
    public void fail(Throwable cause) {
      throw new AssertionError(cause);
    }
  }

  @BeforeEach
  void start() throws Exception {
    vertx = Vertx.vertx();
    loop = vertx.getOrCreateContext();
    store = new StoreExecutor(vertx, openStore());
    log = on(() -> Future.succeededFuture(new EventLog(store, 0)));
  }

  /** The store under the log: SQLite here, PostgreSQL in {@link EventLogOnPostgresTest}. */
  io.mpqemu.controlplane.store.Store openStore() throws Exception {
    return SqliteStore.open(dir.resolve("cp.db"));
  }

  @AfterEach
  void stop() throws Exception {
    store.close();
    Await.result(vertx.close());
  }

  private <T> T on(Supplier<Future<T>> work) throws Exception {
    CompletableFuture<T> result = new CompletableFuture<>();
    loop.runOnContext(v -> work.get().onComplete((r, e) -> {
      if (e != null) {
        result.completeExceptionally(e);
      } else {
        result.complete(r);
      }
    }));
    return result.get(30, TimeUnit.SECONDS);
  }

  /** Commits n events and publishes them, as the controller does. */
  private void commit(int n) throws Exception {
    on(() -> {
      Change.Builder change = Change.builder();
      for (int i = 0; i < n; i++) {
        change.event(VmEvent.newBuilder().setVmId("vm-" + (i % 3)).setType(EventType.ACCEPTED).build());
      }
      Change built = change.build();
      return store.call(st -> st.commit(built)).map(events -> {
        log.published(events);
        return null;
      });
    });
  }

  /** Waits until every commit asked for is done and no replay read is under way (checked on the loop). */
  private void settle() throws Exception {
    on(() -> store.commit(Change.builder().build()));
    for (int quiet = 0; quiet < 3; ) {
      quiet = on(() -> Future.succeededFuture(log.readsInFlight())) == 0 ? quiet + 1 : 0;
    }
  }

  @Test
  @DisplayName("a replay across many batches then live events arrive once each, in order, with no gap")
  void replayThenLive() throws Exception {
    commit(2500);
    RecordingSink sink = new RecordingSink();

    on(() -> Future.succeededFuture(log.subscribe(0, "", sink)));
    commit(10);
    settle();

    assertThat(sink.received).extracting(VmEvent::getSeq)
        .containsExactlyElementsOf(java.util.stream.LongStream.rangeClosed(1, 2510).boxed().toList());
  }

  @Test
  @DisplayName("a subscriber that stops reading is cut off naming its last seq; the others get everything")
  void slowSubscriberIsCutOffAlone() throws Exception {
    RecordingSink fast = new RecordingSink();
    RecordingSink slow = new RecordingSink();
    on(() -> Future.succeededFuture(log.subscribe(0, "", fast)));
    on(() -> Future.succeededFuture(log.subscribe(0, "", slow)));
    commit(5);
    settle();
    slow.blocked = true;

    commit(EventLog.MAX_PENDING + 50);
    settle();

    assertThat(slow.overflowAt).as("cut off, told the last seq it was sent").isEqualTo(5L);
    assertThat(slow.received).hasSize(5);
    assertThat(fast.received).hasSize(EventLog.MAX_PENDING + 55);
    assertThat(fast.overflowAt).isNull();
    assertThat(log.subscriberCount()).as("the slow one no longer holds events").isEqualTo(1);
  }

  @Test
  @DisplayName("a replay waits for a subscriber that is full instead of cutting it off, and resumes on drain")
  void replayWaitsForDrain() throws Exception {
    commit(3000);
    RecordingSink sink = new RecordingSink();
    sink.blocked = true;

    on(() -> Future.succeededFuture(log.subscribe(0, "", sink)));
    settle();
    assertThat(sink.received).isEmpty();
    assertThat(sink.overflowAt).isNull();
    sink.blocked = false;
    on(() -> {
      sink.drain.run();
      return Future.succeededFuture();
    });
    settle();

    assertThat(sink.received).hasSize(3000);
    assertThat(sink.overflowAt).isNull();
  }

  @Test
  @DisplayName("a snapshot subscription sends what was recorded up to its end, then completes; later events are not sent")
  void snapshot() throws Exception {
    commit(1500);
    RecordingSink sink = new RecordingSink();

    on(() -> Future.succeededFuture(log.subscribe(1000, "", sink, log.lastSeq())));
    commit(5);
    settle();

    assertThat(sink.received).extracting(VmEvent::getSeq)
        .containsExactlyElementsOf(java.util.stream.LongStream.rangeClosed(1001, 1500).boxed().toList());
    assertThat(sink.completed).isTrue();
    assertThat(log.subscriberCount()).isZero();
  }

  @Test
  @DisplayName("a subscription for one VM gets only that VM's events")
  void oneVm() throws Exception {
    commit(9);
    RecordingSink sink = new RecordingSink();

    on(() -> Future.succeededFuture(log.subscribe(0, "vm-1", sink)));
    commit(3);
    settle();

    assertThat(sink.received).hasSize(4).allMatch(e -> e.getVmId().equals("vm-1"));
  }

  // ------------------------------------------------------------------ retention

  /** Commits events stamped {@code age} ago, one per VM id in turn. */
  private void commitAged(int n, java.time.Duration age) throws Exception {
    java.time.Instant at = java.time.Instant.now().minus(age);
    on(() -> {
      Change.Builder change = Change.builder();
      for (int i = 0; i < n; i++) {
        change.event(VmEvent.newBuilder().setVmId("vm-" + (i % 3)).setType(EventType.ACCEPTED)
            .setTime(io.mpqemu.wire.Timestamps.of(at)).build());
      }
      Change built = change.build();
      return store.call(st -> st.commit(built)).map(events -> {
        log.published(events);
        return null;
      });
    });
  }

  private long prune(Retention retention) throws Exception {
    return on(() -> retention.prune(store, log, java.time.Clock.systemUTC()));
  }

  @Test
  @DisplayName("retention keeps the last N events when all are old, and every event younger than its age beyond N")
  void retentionKeepsTheLastNAndTheYoung() throws Exception {
    commitAged(10, java.time.Duration.ofDays(30));
    Retention keepThree = new Retention(3, java.time.Duration.ofDays(7));
    assertThat(prune(keepThree)).isEqualTo(8L);
    assertThat(on(() -> store.call(st -> st.firstSeq())).longValue()).isEqualTo(8);
    assertThat(log.firstSeq()).isEqualTo(8);

    commitAged(5, java.time.Duration.ofDays(1)); // seqs 11..15, young
    assertThat(prune(keepThree)).as("the young stay beyond the last 3")
        .isEqualTo(11);
    assertThat(on(() -> store.call(st -> st.events(0, "", 100))).stream().map(VmEvent::getSeq).toList())
        .containsExactly(11L, 12L, 13L, 14L, 15L);
    assertThat(prune(keepThree)).as("pruning again removes nothing")
        .isEqualTo(11);
  }

  @Test
  @DisplayName("a subscriber from a seq retention removed is told OUT_OF_RANGE with the first kept seq; from 0 it gets the oldest kept on")
  void subscribersBeforeTheWindow() throws Exception {
    commitAged(10, java.time.Duration.ofDays(30));
    prune(new Retention(4, java.time.Duration.ofDays(7)));

    RecordingSink early = new RecordingSink();
    on(() -> Future.succeededFuture(log.subscribe(3, "", early)));
    assertThat(early.outOfRangeAt).isEqualTo(7);
    assertThat(early.received).isEmpty();

    RecordingSink edge = new RecordingSink();
    on(() -> Future.succeededFuture(log.subscribe(6, "", edge, log.lastSeq())));
    settle();
    assertThat(edge.outOfRangeAt).as("from the seq just before the first kept: nothing is missing").isEqualTo(-1);
    assertThat(edge.received).extracting(VmEvent::getSeq).containsExactly(7L, 8L, 9L, 10L);

    RecordingSink all = new RecordingSink();
    on(() -> Future.succeededFuture(log.subscribe(0, "vm-1", all, log.lastSeq())));
    settle();
    assertThat(all.received).extracting(VmEvent::getSeq).containsExactly(8L);
  }

  @Test
  @DisplayName("events removed while a subscriber was between two reads end it with OUT_OF_RANGE, not a silent gap")
  void removedUnderASubscriber() throws Exception {
    commitAged(10, java.time.Duration.ofDays(30));
    RecordingSink slow = new RecordingSink();
    slow.blocked = true; // takes nothing: its first read waits for it
    on(() -> Future.succeededFuture(log.subscribe(2, "", slow)));
    prune(new Retention(2, java.time.Duration.ofDays(7)));

    on(() -> {
      slow.blocked = false;
      slow.drain.run();
      return Future.succeededFuture();
    });
    settle();

    assertThat(slow.outOfRangeAt).isEqualTo(9);
    assertThat(slow.received).isEmpty();
  }
}
