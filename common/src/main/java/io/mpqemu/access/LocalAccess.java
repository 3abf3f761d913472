package io.mpqemu.access;

import io.mpqemu.access.sys.Accounts;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Who may call over a UNIX socket (libvirt's {@code unix_sock_group} model): root and the service's own
 * user are operators; so are members of the operator groups; members of the viewer groups are viewers.
 * Membership is the caller's groups as the kernel recorded them when it connected.
 *
 * @param selfUid the service's own uid
 * @param operatorGroups gid to name, of the groups whose members are operators
 * @param viewerGroups gid to name, of the groups whose members are viewers
 */
public record LocalAccess(int selfUid, Map<Integer, String> operatorGroups, Map<Integer, String> viewerGroups) {

  public LocalAccess {
    operatorGroups = Map.copyOf(operatorGroups);
    viewerGroups = Map.copyOf(viewerGroups);
  }

  /**
   * Resolves group names through the group database (blocks: call at start-up, off any event loop).
   *
   * @throws IllegalArgumentException naming a group that does not exist, with the command that creates it
   */
  public static LocalAccess resolve(int selfUid, List<String> operatorGroups, List<String> viewerGroups) {
    return new LocalAccess(selfUid, gids("--operator-group", operatorGroups), gids("--viewer-group", viewerGroups));
  }

  private static Map<Integer, String> gids(String flag, List<String> names) {
    Map<Integer, String> gids = new LinkedHashMap<>();
    for (String name : names) {
      if (!name.matches("^[a-z_][a-z0-9_-]{0,31}$")) {
        throw new IllegalArgumentException(flag + " must be a group name ([a-z_][a-z0-9_-]*, at most 32 characters)");
      }
      int gid = Accounts.groupId(name).orElseThrow(() -> new IllegalArgumentException(flag + " " + name
          + ": no such group on this host (create it: groupadd " + name + ")"));
      gids.put(gid, name);
    }
    return gids;
  }

  /** The access of a UNIX peer with these credentials. */
  Access of(int uid, java.util.function.IntPredicate inGroup) {
    if (uid == 0 || uid == selfUid) {
      return Access.OPERATOR;
    }
    if (operatorGroups.keySet().stream().anyMatch(inGroup::test)) {
      return Access.OPERATOR;
    }
    if (viewerGroups.keySet().stream().anyMatch(inGroup::test)) {
      return Access.VIEWER;
    }
    return Access.NONE;
  }

  /** How a local user gets {@code needed}: "root, this service's user or a member of group mpqemu-ops". */
  String howToGet(Access needed) {
    StringBuilder b = new StringBuilder("root, this service's user");
    List<String> groups = new ArrayList<>(operatorGroups.values());
    if (needed == Access.VIEWER) {
      groups.addAll(viewerGroups.values());
    }
    if (!groups.isEmpty()) {
      b.append(" or a member of group ").append(String.join(", ", groups.stream().sorted().toList()));
    }
    return b.toString();
  }
}
