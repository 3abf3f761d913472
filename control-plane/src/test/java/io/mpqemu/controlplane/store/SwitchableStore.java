package io.mpqemu.controlplane.store;

import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * A store the test can take down and bring back, as a database server that stops: while down, commits
 * fail with UNAVAILABLE (nothing applied) and so do the reads of its readers.
 */
public final class SwitchableStore extends PassThroughStore {

  private final AtomicBoolean down;

  public SwitchableStore(Store store) {
    this(store, new AtomicBoolean());
  }

  private SwitchableStore(Store store, AtomicBoolean down) {
    super(store);
    this.down = down;
  }

  public void down(boolean isDown) {
    down.set(isDown);
  }

  private void check() {
    if (down.get()) {
      throw new StoreException(StoreException.Kind.UNAVAILABLE, "the test's store is down",
          "the control plane's store, the test's store, is unavailable; retry once it is back", null);
    }
  }

  @Override
  public List<Result> commitAll(List<Change> changes) {
    check();
    return store.commitAll(changes);
  }

  @Override
  public java.util.Optional<StoredVm> vm(String id) {
    check();
    return store.vm(id);
  }

  @Override
  public List<StoredVm> listVms(VmFilter filter, String afterId, int limit) {
    check();
    return store.listVms(filter, afterId, limit);
  }

  @Override
  public Store reader() {
    return new SwitchableStore(store.reader(), down);
  }
}
