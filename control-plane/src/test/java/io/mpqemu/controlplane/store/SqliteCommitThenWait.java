package io.mpqemu.controlplane.store;

import io.mpqemu.v1.EventType;
import java.nio.file.Path;

/**
 * Run in a child JVM by {@link SqliteStoreDurabilityTest}: inserts a VM, commits N single-event
 * changes, prints "committed N", then waits to be killed without closing the store.
 */
public final class SqliteCommitThenWait {

  private SqliteCommitThenWait() {}

  public static void main(String[] args) throws InterruptedException {
    Path file = Path.of(args[0]);
    int count = Integer.parseInt(args[1]);
    SqliteStore store = SqliteStore.open(file);
    store.commit(Change.builder().insert(StoreFixtures.vm("vm-1", "web")).request("req-1", "vm-1").build());
    for (int i = 0; i < count; i++) {
      store.commit(Change.builder().event(StoreFixtures.event("vm-1", EventType.RECONCILED)).build());
    }
    System.out.println("committed " + count);
    System.out.flush();
    Thread.sleep(120_000);
  }
}
