package io.mpqemu.net;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

/**
 * The kernel's limit on a UNIX socket's path: {@code sun_path} in {@code struct sockaddr_un} is 108
 * bytes on Linux, its terminating NUL included, so a path may have at most 107 bytes. A longer one fails
 * only when something binds or connects, far from the setting that made it long: check it up front.
 */
public final class UnixSocketPaths {

  /** The longest path a UNIX socket can be bound or reached at, in bytes. */
  public static final int MAX_BYTES = 107;

  private UnixSocketPaths() {
  }

  /** The path's length as the kernel counts it (bytes, not characters). */
  public static int length(Path path) {
    return path.toString().getBytes(StandardCharsets.UTF_8).length;
  }

  /** Throws an {@link IllegalArgumentException} naming {@code what}, the length and the limit if {@code path} is too long. */
  public static void check(String what, Path path) {
    int length = length(path);
    if (length > MAX_BYTES) {
      throw new IllegalArgumentException(what + ": the UNIX socket path " + path + " is " + length
          + " bytes long; the limit is " + MAX_BYTES + " bytes (sun_path is 108 bytes with its terminating NUL):"
          + " use a shorter path");
    }
  }
}
