package io.mpqemu.agent.vm;

import java.util.List;
import java.util.Optional;

/**
 * Port: how a VM's QEMU processes are confined (uids, namespaces, limits); the agent's
 * {@code confine} package fills it. Blocking methods say so.
 */
public interface ProcessConfinement {

  /** The uid an unconfined QEMU process runs as: the agent's. */
  long agentUid();

  /** True for the agent's uid and the uids of its range: a process under another is never killed. */
  boolean ownsUid(long uid);

  /**
   * The VM's jail for a launch of processes whose cgroups are named {@code processGroups}, with
   * {@code memoryMib} of guest RAM and {@code vcpus} as the spec gives it (0: the default); empty when
   * confinement is off. Blocking.
   */
  Optional<ConfinedVm> prepare(String vmId, List<String> processGroups, long memoryMib, int vcpus) throws Exception;

  /** After a restart: whether the uids a VM's record names can be trusted, and its jail when confined. */
  AdoptedUids adopt(String vmId, long firstUid, int size);

  /** The VM is gone with every process of it: its uids and cgroups are released. Blocking. */
  void release(String vmId);

  /**
   * @param trusted the uids lie in the agent's range and belong to no other VM
   * @param jail the VM's jail, or null when confinement is off
   */
  record AdoptedUids(boolean trusted, ConfinedVm jail) {}
}
