package io.mpqemu.agent.confine;

import io.mpqemu.agent.vm.ConfinedVm;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalLong;

/**
 * How one VM's processes start: {@link #wrap} puts each QEMU command line behind the steps that
 * confine it, all run by the spawned process itself before QEMU, so that its pid is QEMU's:
 * <ol>
 *   <li>{@code sh} (root) joins the process's cgroups and sets its rlimits (no core dumps);
 *   <li>{@code nsenter} enters the agent's {@link ProcessView};
 *   <li>{@code unshare} gives it a mount, network, IPC and UTS namespace of its own; the network
 *       namespace is empty, except for a process that runs a user-mode NIC backend, which stays in the
 *       host's (its port forwards listen there, and its NAT reaches out from there: restricted);
 *   <li>{@code setpriv} drops to the process's uid and gid (the main QEMU keeps the kvm group), with
 *       no capability in any set and no_new_privs;
 * </ol>
 * then QEMU, which adds its own seccomp filter ({@code -sandbox}).
 */
public final class VmJail implements ConfinedVm {

  /** Joins cgroups and sets rlimits: "$1" is RLIMIT_NOFILE, then cgroup.procs files, "--", the command. */
  private static final String JOIN = "n=$1; shift; "
      + "while [ \"$1\" != -- ]; do echo $$ > \"$1\" || exit 126; shift; done; shift; "
      + "ulimit -c 0 && ulimit -n \"$n\" || exit 126; exec \"$@\"";

  private final UidBlock uids;
  private final VmCgroup cgroup;
  private final String viewPath;
  private final OptionalLong kvmGid;
  private final long mainNofile;
  private final long deviceNofile;

  VmJail(UidBlock uids, VmCgroup cgroup, String viewPath, OptionalLong kvmGid, long mainNofile, long deviceNofile) {
    this.uids = uids;
    this.cgroup = cgroup;
    this.viewPath = viewPath;
    this.kvmGid = kvmGid;
    this.mainNofile = mainNofile;
    this.deviceNofile = deviceNofile;
  }

  @Override
  public long firstUid() {
    return uids.first();
  }

  @Override
  public int size() {
    return uids.size();
  }

  /**
   * The command that runs {@code argv} confined as {@code process} ("main" or "dev-<id>", its cgroup)
   * under {@code uid}, with the kvm group when {@code kvm}.
   */
  @Override
  public List<String> wrap(String process, long uid, boolean kvm, boolean hostNetwork, List<String> argv) {
    if (!uids.contains(uid)) {
      throw new IllegalArgumentException("uid " + uid + " is not one of this VM's " + uids);
    }
    return wrap(cgroup == null ? List.of() : cgroup.procsFiles(process), viewPath, uid,
        kvm ? kvmGid : OptionalLong.empty(), uid == uids.first() ? mainNofile : deviceNofile, hostNetwork, argv);
  }

  /** Removes the VM's cgroups (once its processes are gone); false if some still hold a process. */
  boolean removeCgroups() {
    return cgroup == null || cgroup.remove();
  }

  static List<String> wrap(List<Path> procsFiles, String viewPath, long uid, OptionalLong group, long nofile,
      boolean hostNetwork, List<String> argv) {
    List<String> cmd = new ArrayList<>(List.of("/bin/sh", "-c", JOIN, "mpqemu-confine", Long.toString(nofile)));
    procsFiles.forEach(f -> cmd.add(f.toString()));
    cmd.addAll(List.of("--", "nsenter", "--mount=" + viewPath, "--"));
    cmd.addAll(hostNetwork ? List.of("unshare", "--mount", "--ipc", "--uts", "--")
        : List.of("unshare", "--mount", "--net", "--ipc", "--uts", "--"));
    cmd.addAll(List.of(
        "setpriv", "--reuid=" + uid, "--regid=" + uid,
        group.isPresent() ? "--groups=" + group.getAsLong() : "--clear-groups",
        "--inh-caps=-all", "--ambient-caps=-all", "--bounding-set=-all", "--no-new-privs", "--"));
    cmd.addAll(argv);
    return List.copyOf(cmd);
  }
}
