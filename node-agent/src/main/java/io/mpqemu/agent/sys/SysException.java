package io.mpqemu.agent.sys;

import java.io.IOException;

/** A failed system call: its message names what was attempted and the kernel's reason; {@link #errno} says which. */
public final class SysException extends IOException {

  private static final int ENOENT = 2;
  private static final int EACCES = 13;
  private static final int ENOTDIR = 20;
  private static final int EISDIR = 21;
  private static final int EROFS = 30;
  private static final int ELOOP = 40;

  private final int errno;

  SysException(String message, int errno) {
    super(message);
    this.errno = errno;
  }

  public int errno() {
    return errno;
  }

  /** Nothing at the path. */
  public boolean notFound() {
    return errno == ENOENT;
  }

  /** A symbolic link where none may be, or a non-directory where a directory was needed. */
  public boolean linkOrNotDirectory() {
    return errno == ELOOP || errno == ENOTDIR;
  }

  /** A directory where a file was needed. */
  public boolean directory() {
    return errno == EISDIR;
  }

  /** The agent may not open it so. */
  public boolean denied() {
    return errno == EACCES || errno == EROFS;
  }
}
