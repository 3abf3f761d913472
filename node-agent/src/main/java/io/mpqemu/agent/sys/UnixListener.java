package io.mpqemu.agent.sys;

import com.sun.jna.LastErrorException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;

/**
 * A listening AF_UNIX stream socket bound at a path, made by the agent so that the process that
 * serves it (QEMU's {@code -chardev socket,fd=N,server=on}) needs no access to the path: the file
 * is the agent's, 0600, and clients still connect to it by name. Not junixsocket: closing one of
 * its sockets shuts the socket down for every holder, QEMU's copy included.
 */
final class UnixListener {

  /** {@code sizeof(struct sockaddr_un)} on Linux: a 2-byte family, then 108 bytes of path. */
  static final int SOCKADDR_UN_SIZE = 110;

  private static final int FAMILY_SIZE = 2;

  private UnixListener() {}

  /**
   * Binds a new socket at {@code path} (which must not exist: nothing is removed here), restricts
   * the file to its owner and listens with {@code backlog}. The descriptor is close-on-exec.
   */
  static Fd listen(Path path, int backlog) throws IOException {
    byte[] address = sockaddr(path);
    Fd socket;
    try {
      socket = new Fd(Libc.C.socket(Libc.AF_UNIX, Libc.SOCK_STREAM | Libc.SOCK_CLOEXEC, 0));
    } catch (LastErrorException e) {
      throw Errors.io("cannot create a UNIX socket for " + path, e);
    }
    boolean bound = false;
    try {
      Libc.C.bind(socket.number(), address, address.length);
      bound = true;
      // the directory is the agent's alone (0700), so the mode bind gave it was never reachable
      Files.setPosixFilePermissions(path, PosixFilePermissions.fromString("rw-------"));
      Libc.C.listen(socket.number(), backlog);
      return socket;
    } catch (LastErrorException e) {
      closeAfterFailure(socket, bound, path);
      throw Errors.io((bound ? "cannot listen on " : "cannot bind a UNIX socket at ") + path, e);
    } catch (IOException | RuntimeException e) {
      closeAfterFailure(socket, bound, path);
      throw e;
    }
  }

  /** {@code struct sockaddr_un} for {@code path}, up to and including the path's NUL. */
  static byte[] sockaddr(Path path) {
    byte[] name = path.toString().getBytes(StandardCharsets.UTF_8);
    if (name.length == 0 || name.length + 1 > SOCKADDR_UN_SIZE - FAMILY_SIZE) {
      throw new IllegalArgumentException("a UNIX socket path must have 1 to "
          + (SOCKADDR_UN_SIZE - FAMILY_SIZE - 1) + " bytes, not " + name.length + ": " + path);
    }
    for (byte b : name) {
      if (b == 0) {
        throw new IllegalArgumentException("a UNIX socket path must not contain NUL: " + path);
      }
    }
    byte[] address = new byte[FAMILY_SIZE + name.length + 1];
    address[0] = (byte) Libc.AF_UNIX; // sa_family_t, little-endian on x86_64
    System.arraycopy(name, 0, address, FAMILY_SIZE, name.length);
    return address;
  }

  private static void closeAfterFailure(Fd socket, boolean bound, Path path) {
    socket.close();
    if (bound) {
      try {
        Files.deleteIfExists(path);
      } catch (IOException ignored) {
        // the first failure is the one reported; a later bind at the path reports this one
      }
    }
  }
}
