package io.mpqemu.controlplane.store;

import java.util.List;

/** A store that records the size of each group it is asked to commit, and otherwise passes every call on. */
final class GroupRecordingStore extends PassThroughStore {

  private final List<Integer> groupSizes;

  GroupRecordingStore(Store store, List<Integer> groupSizes) {
    super(store);
    this.groupSizes = groupSizes;
  }

  @Override
  public List<Result> commitAll(List<Change> changes) {
    groupSizes.add(changes.size());
    return store.commitAll(changes);
  }
}
