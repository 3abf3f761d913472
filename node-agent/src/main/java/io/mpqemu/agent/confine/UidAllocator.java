package io.mpqemu.agent.confine;

import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * Hands out a {@link UidBlock} per VM from the agent's {@link UidRange}. A VM keeps its block until
 * it is deleted, so no uid is reused while a process of it may live. After a restart the agent
 * {@link #reserve}s what each vm.json records before it hands out anything, and never hands out a
 * block holding a uid that a live process runs as ({@code liveUids}, read from /proc at start-up).
 * Thread-safe.
 */
public final class UidAllocator {

  private final UidRange range;
  private final int blockSize;
  private final Set<Long> liveAtStart;
  private final Map<String, UidBlock> byVm = new HashMap<>();

  /**
   * @param blockSize one uid for the main QEMU and one per device a VM may have
   * @param liveAtStart uids in the range that processes ran as when the agent started
   */
  public UidAllocator(UidRange range, int blockSize, Set<Long> liveAtStart) {
    this.range = range;
    this.blockSize = blockSize;
    this.liveAtStart = Set.copyOf(liveAtStart);
    if (blockSize > range.count()) {
      throw new IllegalArgumentException("the uid range " + range + " holds fewer than the " + blockSize
          + " uids one VM needs (one, plus one per device)");
    }
  }

  /** The VM's block: the one it has, or a new one; empty when the range is used up. */
  public synchronized Optional<UidBlock> allocate(String vmId) {
    UidBlock held = byVm.get(vmId);
    if (held != null && held.size() >= blockSize) {
      return Optional.of(held);
    }
    if (held != null) {
      byVm.remove(vmId); // recorded by an agent that allowed fewer devices: never in use while launching
    }
    for (long first = range.first(); first + blockSize - 1 <= range.last(); first += blockSize) {
      UidBlock candidate = new UidBlock(first, blockSize);
      if (isFree(candidate)) {
        byVm.put(vmId, candidate);
        return Optional.of(candidate);
      }
    }
    return Optional.empty();
  }

  /**
   * Takes over a block a vm.json records, if it lies in the range and overlaps no other VM's: false
   * (and nothing reserved) otherwise, and the record is not to be trusted.
   */
  public synchronized boolean reserve(String vmId, UidBlock block) {
    if (!range.contains(block.first()) || !range.contains(block.last())) {
      return false;
    }
    for (Map.Entry<String, UidBlock> e : byVm.entrySet()) {
      if (!e.getKey().equals(vmId) && overlap(e.getValue(), block)) {
        return false;
      }
    }
    byVm.put(vmId, block);
    return true;
  }

  /** The VM is gone with all its processes: its uids may go to another VM. */
  public synchronized void release(String vmId) {
    byVm.remove(vmId);
  }

  public synchronized Optional<UidBlock> of(String vmId) {
    return Optional.ofNullable(byVm.get(vmId));
  }

  public UidRange range() {
    return range;
  }

  private boolean isFree(UidBlock candidate) {
    for (UidBlock b : byVm.values()) {
      if (overlap(b, candidate)) {
        return false;
      }
    }
    for (long uid : liveAtStart) {
      if (candidate.contains(uid)) {
        return false;
      }
    }
    return true;
  }

  private static boolean overlap(UidBlock a, UidBlock b) {
    return a.first() <= b.last() && b.first() <= a.last();
  }
}
