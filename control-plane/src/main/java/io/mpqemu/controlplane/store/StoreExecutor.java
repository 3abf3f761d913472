package io.mpqemu.controlplane.store;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.WorkerExecutor;
import io.mpqemu.v1.VmEvent;
import java.util.List;
import java.util.function.Function;

/**
 * Runs every store call on one worker thread, in submission order: commits are serialized (the
 * event log's seqs stay gap-free) and results come back on the caller's event loop in that order.
 */
public final class StoreExecutor implements AutoCloseable {

  private final Store store;
  private final WorkerExecutor worker;

  public StoreExecutor(Vertx vertx, Store store) {
    this.store = store;
    this.worker = vertx.createSharedWorkerExecutor("mpqemu-store", 1);
  }

  public <T> Future<T> call(Function<Store, T> work) {
    return worker.executeBlocking(() -> work.apply(store), true);
  }

  /** Commits a change; its events come back with their seqs. */
  public Future<List<VmEvent>> commit(Change change) {
    return call(st -> st.commit(change));
  }

  /** Runs a read. */
  public <T> Future<T> read(Function<Store, T> work) {
    return call(work);
  }

  @Override
  public void close() {
    worker.close();
    store.close();
  }
}
