package io.mpqemu.controlplane.store;

import io.mpqemu.v1.VmEvent;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.WorkerExecutor;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Function;

/**
 * Runs the store off the event loop: writes on ONE writer thread, reads on a small pool beside it.
 *
 * <ul>
 *   <li>{@link #commit}: group commit. Changes queue up; the writer takes every change queued at that
 *       moment and applies them in one transaction ({@link Store#commitAll}, one sync to disk for all;
 *       a CONFLICT fails only its change's future). Futures complete in queue order, on the caller's
 *       context (one task per context for the whole group), once the transaction is durable. Seqs stay
 *       gap-free: one writer numbers them.
 *   <li>{@link #read}: on {@value #READERS} threads, each using a reader of its own ({@link
 *       Store#reader}: a read-only SQLite connection, which WAL lets run beside the writer, or a
 *       PostgreSQL connection), so reads do not wait behind commits. A read sees every commit whose
 *       future has completed.
 *   <li>{@link #call}: any work on the writer thread and its connection, between group commits.
 * </ul>
 *
 * <p>Why JDBC on worker threads rather than vertx-pg-client: one code path, and one set of contract
 * tests, for both engines (there is no reactive SQLite client); JDBC gives both the same transaction
 * model with savepoints, which group commit rests on; and the database, not the client, is the
 * bottleneck: a commit waits for a sync to disk, which a non-blocking client would not make faster. No
 * connection pool library either: one writer connection and at most {@value #READERS} reader
 * connections, each owned by one thread, reconnecting by themselves, are all a pool would give here.
 */
public final class StoreExecutor implements AutoCloseable {

  static final int READERS = 4;

  private final Vertx vertx;
  private final Store store;
  private final WorkerExecutor writer;
  private final WorkerExecutor readPool;
  private final Queue<Pending> queued = new ConcurrentLinkedQueue<>();
  /** True while a drain is scheduled and has not yet taken the queue. */
  private final AtomicBoolean drainScheduled = new AtomicBoolean();
  private final Queue<Store> idleReaders = new ConcurrentLinkedQueue<>();
  private final Queue<Store> allReaders = new ConcurrentLinkedQueue<>();
  private volatile boolean closed;
  private final LongAdder groups = new LongAdder();
  private final LongAdder grouped = new LongAdder();

  public StoreExecutor(Vertx vertx, Store store) {
    this.vertx = vertx;
    this.store = store;
    this.writer = vertx.createSharedWorkerExecutor("mpqemu-store", 1);
    this.readPool = vertx.createSharedWorkerExecutor("mpqemu-store-read", READERS);
  }

  /** Commits the change with whatever else is queued; the events come back with their seqs. */
  public Future<List<VmEvent>> commit(Change change) {
    if (closed) {
      return Future.failedFuture(JdbcStore.unavailable("The store is closed.", null));
    }
    // the spec's JSON is printed here, on the caller's thread, not on the one writer thread all commits wait for
    Pending pending = new Pending(change.withSpecsPrinted(), vertx.getOrCreateContext(), Promise.promise());
    queued.add(pending);
    if (drainScheduled.compareAndSet(false, true)) {
      writer.executeBlocking(this::drain, true);
    }
    return pending.promise.future();
  }

  /** Runs a read on the read pool, with a reader of its own. */
  public <T> Future<T> read(Function<Store, T> work) {
    return readPool.executeBlocking(() -> {
      Store reader = idleReaders.poll();
      if (reader == null) {
        reader = store.reader();
        allReaders.add(reader);
      }
      try {
        return work.apply(reader);
      } finally {
        idleReaders.add(reader);
      }
    }, false);
  }

  /** Runs {@code work} on the writer thread, with the writing store, in submission order. */
  public <T> Future<T> call(Function<Store, T> work) {
    return writer.executeBlocking(() -> work.apply(store), true);
  }

  /** Group commits run so far (each one transaction, one sync to disk), committed or not. */
  public long groupCommits() {
    return groups.sum();
  }

  /** Changes those group commits carried: divided by {@link #groupCommits}, the mean group. */
  public long groupedChanges() {
    return grouped.sum();
  }

  /** On the writer thread: commits everything queued now as one group. */
  private Void drain() {
    drainScheduled.set(false); // what is queued from now on schedules the next drain
    List<Pending> group = new ArrayList<>();
    for (Pending p = queued.poll(); p != null; p = queued.poll()) {
      group.add(p);
    }
    if (group.isEmpty()) {
      return null;
    }
    groups.increment();
    grouped.add(group.size());
    List<Store.Result> results;
    try {
      results = store.commitAll(group.stream().map(Pending::change).toList());
    } catch (RuntimeException e) {
      group.forEach(p -> p.context.runOnContext(v -> p.promise.fail(e)));
      return null;
    }
    // one task per caller's context, not one per change: the callers' answers leave together
    Map<Context, List<Runnable>> completions = new LinkedHashMap<>();
    for (int i = 0; i < group.size(); i++) {
      Pending p = group.get(i);
      Store.Result result = results.get(i);
      completions.computeIfAbsent(p.context, c -> new ArrayList<>()).add(() -> {
        if (result.failure() == null) {
          p.promise.complete(result.events());
        } else {
          p.promise.fail(result.failure());
        }
      });
    }
    completions.forEach((context, inOrder) -> context.runOnContext(v -> inOrder.forEach(Runnable::run)));
    return null;
  }

  @Override
  public void close() {
    closed = true;
    writer.close();
    readPool.close();
    RuntimeException failure = null;
    for (Store reader : allReaders) {
      try {
        reader.close();
      } catch (RuntimeException e) {
        failure = e;
      }
    }
    store.close();
    if (failure != null) {
      throw failure;
    }
  }

  private record Pending(Change change, Context context, Promise<List<VmEvent>> promise) {}
}
