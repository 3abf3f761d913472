package io.mpqemu.access.sys;

import com.sun.jna.Library;
import com.sun.jna.Memory;
import com.sun.jna.Native;
import com.sun.jna.Pointer;
import com.sun.jna.ptr.PointerByReference;
import java.util.Optional;

/**
 * The user and group databases, through the C library (so NSS sources such as LDAP count, as they do
 * for file permissions): a uid's user name and a group name's gid. The reentrant calls are used, so
 * any thread may call.
 */
public final class Accounts {

  private static final int BUFFER = 16384;

  private interface Nss extends Library {
    Nss C = Native.load("c", Nss.class);

    /** Returns an error number, 0 on success; {@code result} is null when there is no such user. */
    int getpwuid_r(int uid, Pointer pwd, Pointer buf, long buflen, PointerByReference result);

    int getgrnam_r(String name, Pointer grp, Pointer buf, long buflen, PointerByReference result);
  }

  private Accounts() {}

  /** The name of the user {@code uid}, if the user database has one. */
  public static Optional<String> userName(int uid) {
    try (Memory passwd = new Memory(48); Memory buffer = new Memory(BUFFER)) {
      PointerByReference result = new PointerByReference();
      int error = Nss.C.getpwuid_r(uid, passwd, buffer, BUFFER, result);
      if (error != 0 || result.getValue() == null) {
        return Optional.empty();
      }
      return Optional.of(passwd.getPointer(0).getString(0)); // pw_name is the struct's first field
    }
  }

  /** The gid of the group {@code name}, if the group database has one. */
  public static Optional<Integer> groupId(String name) {
    try (Memory group = new Memory(32); Memory buffer = new Memory(BUFFER)) {
      PointerByReference result = new PointerByReference();
      int error = Nss.C.getgrnam_r(name, group, buffer, BUFFER, result);
      if (error != 0 || result.getValue() == null) {
        return Optional.empty();
      }
      return Optional.of(group.getInt(16)); // gr_gid follows gr_name and gr_passwd
    }
  }
}
