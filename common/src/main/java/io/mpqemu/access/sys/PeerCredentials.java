package io.mpqemu.access.sys;

import com.sun.jna.LastErrorException;
import com.sun.jna.Library;
import com.sun.jna.Memory;
import com.sun.jna.Native;
import com.sun.jna.Pointer;
import com.sun.jna.ptr.IntByReference;
import java.io.IOException;

/**
 * The credentials of the process at the other end of a connected UNIX socket, as the kernel recorded
 * them when it connected: {@code SO_PEERCRED} (pid, uid, gid) and {@code SO_PEERGROUPS} (its
 * supplementary groups, Linux 4.13 and later). Nothing the peer says about itself is involved.
 *
 * @param pid the peer's pid in this process's pid namespace (0 when it is not visible here)
 * @param uid its effective uid
 * @param gid its effective gid
 * @param groups its supplementary gids
 */
public record PeerCredentials(int pid, int uid, int gid, int[] groups) {

  private static final int SOL_SOCKET = 1;
  private static final int SO_PEERCRED = 17;
  private static final int SO_PEERGROUPS = 59;
  private static final int ERANGE = 34;

  private interface Sockets extends Library {
    Sockets C = Native.load("c", Sockets.class);

    int getsockopt(int fd, int level, int name, Pointer value, IntByReference length) throws LastErrorException;
  }

  /** Reads the credentials of the peer of the connected UNIX socket {@code fd}. */
  public static PeerCredentials of(int fd) throws IOException {
    try (Memory cred = new Memory(12)) {
      IntByReference length = new IntByReference(12);
      Sockets.C.getsockopt(fd, SOL_SOCKET, SO_PEERCRED, cred, length);
      return new PeerCredentials(cred.getInt(0), cred.getInt(4), cred.getInt(8), groups(fd));
    } catch (LastErrorException e) {
      throw new IOException("cannot read the peer's credentials (SO_PEERCRED): errno " + e.getErrorCode(), e);
    }
  }

  private static int[] groups(int fd) throws IOException {
    int count = 64;
    while (true) {
      try (Memory list = new Memory(4L * count)) {
        IntByReference length = new IntByReference(4 * count);
        try {
          Sockets.C.getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, list, length);
          return list.getIntArray(0, length.getValue() / 4);
        } catch (LastErrorException e) {
          if (e.getErrorCode() != ERANGE || count >= 65536) {
            throw new IOException("cannot read the peer's groups (SO_PEERGROUPS): errno " + e.getErrorCode(), e);
          }
          count = Math.max(count * 2, length.getValue() / 4);
        }
      }
    }
  }

  /** True when the peer has {@code gid} as its group or one of its supplementary groups. */
  public boolean inGroup(int gid) {
    if (this.gid == gid) {
      return true;
    }
    for (int g : groups) {
      if (g == gid) {
        return true;
      }
    }
    return false;
  }
}
