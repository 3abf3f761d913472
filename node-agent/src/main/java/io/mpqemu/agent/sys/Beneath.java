package io.mpqemu.agent.sys;

import com.sun.jna.LastErrorException;
import java.io.IOException;
import java.nio.file.Path;

/**
 * Opens a file beneath a directory the agent holds open, one path component at a time, following no
 * symbolic link at any component ({@code O_NOFOLLOW} on each {@code openat}) and never going up
 * ({@code ..} is refused before any call). The final component is opened non-blocking, so a FIFO
 * swapped in after any check cannot block the caller; the caller checks the type on the descriptor.
 */
public final class Beneath {

  private Beneath() {}

  /** Opens {@code dir} itself (a directory, links followed: it is the agent's own configuration). */
  public static Fd openDirectory(Path dir) throws IOException {
    return Fd.open(dir, Libc.O_RDONLY | Libc.O_DIRECTORY, 0);
  }

  /**
   * Opens {@code relative} beneath {@code root}: read-only, or read-write when {@code write}. An
   * {@link IOException} names the component that is a link, missing, or not a directory.
   */
  public static Fd open(Fd root, Path relative, boolean write) throws IOException {
    if (relative.isAbsolute() || relative.getNameCount() == 0 || relative.toString().isEmpty()) {
      throw new IOException("'" + relative + "' is not a relative path beneath the image root");
    }
    for (Path part : relative) {
      String name = part.toString();
      if (name.equals("..") || name.equals(".")) {
        throw new IOException("'" + relative + "' must not contain '" + name + "'");
      }
    }
    Fd dir = root;
    try {
      for (int i = 0; i < relative.getNameCount() - 1; i++) {
        Fd next = openAt(dir, relative, i, Libc.O_RDONLY | Libc.O_DIRECTORY);
        if (dir != root) {
          dir.close();
        }
        dir = next;
      }
      int mode = (write ? Libc.O_RDWR : Libc.O_RDONLY) | Libc.O_NONBLOCK | Libc.O_NOCTTY;
      Fd file = openAt(dir, relative, relative.getNameCount() - 1, mode);
      try {
        int flags = Libc.C.fcntl(file.number(), Libc.F_GETFL, 0);
        Libc.C.fcntl(file.number(), Libc.F_SETFL, flags & ~Libc.O_NONBLOCK);
      } catch (LastErrorException e) {
        file.close();
        throw Errors.io("cannot set up " + relative, e);
      }
      return file;
    } finally {
      if (dir != root) {
        dir.close();
      }
    }
  }

  private static Fd openAt(Fd dir, Path relative, int index, int flags) throws IOException {
    String name = relative.getName(index).toString();
    try {
      return new Fd(Libc.C.openat(dir.number(), name, flags | Libc.O_NOFOLLOW | Libc.O_CLOEXEC, 0));
    } catch (LastErrorException e) {
      SysException failure = Errors.io("cannot open '" + relative.subpath(0, index + 1) + "'", e);
      if (failure.linkOrNotDirectory()) {
        throw new SysException("'" + relative.subpath(0, index + 1) + "' is a symbolic link or not a directory",
            failure.errno());
      }
      throw failure;
    }
  }
}
