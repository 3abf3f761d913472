package io.mpqemu.agent.sys;

import com.sun.jna.LastErrorException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/**
 * An open file descriptor of this process, owned by whoever holds this object until {@link #close}.
 * Descriptors made here are close-on-exec: a child gets one only through a spawn's descriptor map.
 */
public final class Fd implements AutoCloseable {

  /** Connections a listening socket queues before its server accepts them (QEMU sets its own). */
  private static final int UNIX_BACKLOG = 8;

  private final int number;
  private final boolean owned;
  private boolean closed;

  Fd(int number) {
    this(number, true);
  }

  private Fd(int number, boolean owned) {
    this.number = number;
    this.owned = owned;
  }

  /** Takes ownership of a descriptor opened elsewhere (the caller must not close it any more). */
  public static Fd adopt(int number) {
    if (number < 0) {
      throw new IllegalArgumentException("not a descriptor: " + number);
    }
    return new Fd(number);
  }

  /**
   * A descriptor someone else owns (a socket end junixsocket holds), to hand to a spawn: closing this
   * object does nothing.
   */
  public static Fd borrow(int number) {
    return new Fd(number, false);
  }

  /** Opens {@code path} (an absolute path the agent trusts, links followed) for reading, or reading and writing. */
  public static Fd open(Path path, boolean write) throws IOException {
    return open(path, write ? Libc.O_RDWR : Libc.O_RDONLY, 0);
  }

  /** Opens {@code path} (an absolute path the agent owns: /dev/null, a log file) close-on-exec. */
  static Fd open(Path path, int flags, int mode) throws IOException {
    try {
      return new Fd(Libc.C.open(path.toString(), flags | Libc.O_CLOEXEC, mode));
    } catch (LastErrorException e) {
      throw Errors.io("cannot open " + path, e);
    }
  }

  /** /dev/null for reading: the stdin of a process that reads none. */
  public static Fd devNull() throws IOException {
    return open(Path.of("/dev/null"), Libc.O_RDONLY, 0);
  }

  /** A log file opened for appending (created 0600). */
  public static Fd appendTo(Path log) throws IOException {
    return open(log, Libc.O_WRONLY | Libc.O_APPEND | Libc.O_CREAT | Libc.O_NOCTTY, 0600);
  }

  /**
   * A listening AF_UNIX stream socket bound at {@code path} (which must not exist), mode 0600, for a
   * child that serves it without access to the path (QEMU's {@code -chardev socket,fd=N,server=on}).
   */
  public static Fd listeningUnixSocket(Path path) throws IOException {
    return UnixListener.listen(path, UNIX_BACKLOG);
  }

  public int number() {
    checkOpen();
    return number;
  }

  /** A second, close-on-exec descriptor for the same open file, numbered {@code min} or above. */
  public Fd dupAtLeast(int min) throws IOException {
    try {
      return new Fd(Libc.C.fcntl(number(), Libc.F_DUPFD_CLOEXEC, min));
    } catch (LastErrorException e) {
      throw Errors.io("cannot duplicate descriptor " + number, e);
    }
  }

  /** What the kernel says this descriptor refers to (the target of {@code /proc/self/fd/N}). */
  public String describe() {
    try {
      return Files.readSymbolicLink(Path.of("/proc/self/fd/" + number())).toString();
    } catch (IOException e) {
      return "fd " + number;
    }
  }

  /** The file's {@code unix:} attributes (mode, nlink, size, ino, dev), of the open file itself. */
  public Map<String, Object> stat() throws IOException {
    return Files.readAttributes(Path.of("/proc/self/fd/" + number()), "unix:mode,nlink,size,ino,dev,uid");
  }

  /** Up to {@code count} bytes from {@code offset} (fewer at the end of the file), without moving the file position. */
  public byte[] read(long offset, int count) throws IOException {
    byte[] buf = new byte[count];
    try {
      long n = Libc.C.pread(number(), buf, count, offset);
      return n == count ? buf : java.util.Arrays.copyOf(buf, (int) n);
    } catch (LastErrorException e) {
      throw Errors.io("cannot read descriptor " + number, e);
    }
  }

  synchronized void checkOpen() {
    if (closed) {
      throw new IllegalStateException("descriptor " + number + " is closed");
    }
  }

  @Override
  public synchronized void close() {
    if (!closed) {
      closed = true;
      if (!owned) {
        return;
      }
      try {
        Libc.C.close(number);
      } catch (LastErrorException ignored) {
        // EBADF or EINTR: either way the number is no longer ours
      }
    }
  }

  @Override
  public String toString() {
    return "fd " + number;
  }
}
