package io.mpqemu.controlplane.store;

import io.mpqemu.v1.VmEvent;
import java.util.List;
import java.util.Optional;

/** A store that passes every call on to another: tests override what they watch or break. */
public class PassThroughStore implements Store {

  protected final Store store;

  public PassThroughStore(Store store) {
    this.store = store;
  }

  @Override
  public List<Result> commitAll(List<Change> changes) {
    return store.commitAll(changes);
  }

  @Override
  public Optional<StoredVm> vm(String id) {
    return store.vm(id);
  }

  @Override
  public Optional<StoredVm> vmByName(String name) {
    return store.vmByName(name);
  }

  @Override
  public Optional<String> vmIdForRequest(String requestId) {
    return store.vmIdForRequest(requestId);
  }

  @Override
  public List<StoredVm> listVms(VmFilter filter, String afterId, int limit) {
    return store.listVms(filter, afterId, limit);
  }

  @Override
  public List<VmEvent> events(long afterSeq, String vmId, int limit) {
    return store.events(afterSeq, vmId, limit);
  }

  @Override
  public long firstSeq() {
    return store.firstSeq();
  }

  @Override
  public int deleteEventsBefore(long seq) {
    return store.deleteEventsBefore(seq);
  }

  @Override
  public long lastSeq() {
    return store.lastSeq();
  }

  @Override
  public void putNode(StoredNode node) {
    store.putNode(node);
  }

  @Override
  public List<StoredNode> nodes() {
    return store.nodes();
  }

  @Override
  public Store reader() {
    return store.reader();
  }

  @Override
  public void close() {
    store.close();
  }
}
