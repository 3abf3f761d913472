package io.mpqemu.agent.confine;

/**
 * The uids of one VM: the main QEMU runs as {@code first}, its i-th device process (in spec order)
 * as {@code first + 1 + i}; gids are the same numbers. Recorded in the VM's vm.json.
 */
public record UidBlock(long first, int size) {

  public UidBlock {
    if (size < 1) {
      throw new IllegalArgumentException("a uid block holds at least the main QEMU's uid");
    }
  }

  public long last() {
    return first + size - 1;
  }

  public boolean contains(long uid) {
    return uid >= first && uid <= last();
  }
}
