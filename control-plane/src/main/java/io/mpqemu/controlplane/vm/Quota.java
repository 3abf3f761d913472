package io.mpqemu.controlplane.vm;

import java.util.Optional;

/**
 * What one identity (a UNIX user, a certificate's CN) may hold on this control plane: VMs and their
 * memory in total. 0 is no limit. VMs created before quotas existed belong to no one and count for no
 * one. Limits are per control plane.
 *
 * @param vms how many VMs
 * @param memoryMib how much guest memory, summed over its VMs
 */
public record Quota(int vms, long memoryMib) {

  /** No limit. */
  public static final Quota NONE = new Quota(0, 0);

  public Quota {
    if (vms < 0 || memoryMib < 0) {
      throw new IllegalArgumentException("a quota is 0 (no limit) or more, not " + vms + " VMs / " + memoryMib + " MiB");
    }
  }

  /**
   * Why {@code owner}, holding {@code heldVms} VMs with {@code heldMib} MiB, may not create one more of
   * {@code newMib} MiB; empty when it may.
   */
  public Optional<String> refusal(String owner, int heldVms, long heldMib, long newMib) {
    if (vms > 0 && heldVms + 1 > vms) {
      return Optional.of("quota exceeded: " + owner + " holds " + heldVms + " VM(s), the VM quota is " + vms
          + " per identity; delete one first");
    }
    if (memoryMib > 0 && heldMib + newMib > memoryMib) {
      return Optional.of("quota exceeded: " + owner + " holds " + heldMib + " MiB of VM memory, and " + newMib
          + " MiB more would pass the memory quota of " + memoryMib + " MiB per identity");
    }
    return Optional.empty();
  }
}
