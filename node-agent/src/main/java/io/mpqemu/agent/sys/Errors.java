package io.mpqemu.agent.sys;

import com.sun.jna.LastErrorException;

/** errno to exceptions whose message an operator can read. */
final class Errors {

  static final int EINTR = 4;

  private Errors() {}

  static SysException io(String what, LastErrorException e) {
    return io(what, e.getErrorCode());
  }

  static SysException io(String what, int errno) {
    return new SysException(what + ": " + Libc.C.strerror(errno), errno);
  }
}
