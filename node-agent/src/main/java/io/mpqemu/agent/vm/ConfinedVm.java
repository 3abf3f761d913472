package io.mpqemu.agent.vm;

import java.util.List;

/** Port: one VM's jail: the uids of its processes and the command that confines each. */
public interface ConfinedVm {

  /** The main QEMU's uid; device process i runs as {@code firstUid() + 1 + i}. */
  long firstUid();

  /** How many uids the VM holds. */
  int size();

  /**
   * The command that runs {@code argv} confined in the cgroup {@code group} ("main", "dev-<id>")
   * under {@code uid}, with the kvm group when {@code kvm}.
   */
  default List<String> wrap(String group, long uid, boolean kvm, List<String> argv) {
    return wrap(group, uid, kvm, false, argv);
  }

  /**
   * The same, in the host's network namespace when {@code hostNetwork} (a user-mode NIC's backend, whose
   * port forwards listen on the host) instead of an empty one of its own.
   */
  List<String> wrap(String group, long uid, boolean kvm, boolean hostNetwork, List<String> argv);
}
