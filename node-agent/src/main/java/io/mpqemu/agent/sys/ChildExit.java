package io.mpqemu.agent.sys;

import com.sun.jna.LastErrorException;
import com.sun.jna.Memory;
import com.sun.jna.ptr.IntByReference;

/**
 * Waits for a child of this process and reaps it, so it does not stay a zombie (pid 1 may not reap,
 * and the JDK reaps only what it started). Signals go through {@link #signal}, which never signals a
 * pid once it was reaped: while a child is a zombie its pid cannot be reused, so the only safe moment
 * to reap is under the same lock that signals.
 */
public final class ChildExit {

  private static final int SIGINFO_SIZE = 128;

  private final int pid;
  private boolean reaped;

  public ChildExit(int pid) {
    this.pid = pid;
  }

  /**
   * Blocks until the child has exited, reaps it and returns its wait status (as {@code waitpid}
   * reports it). Call from a thread of its own.
   */
  public int awaitAndReap() {
    Memory siginfo = new Memory(SIGINFO_SIZE);
    while (true) {
      try {
        Libc.C.waitid(Libc.P_PID, pid, siginfo, Libc.WEXITED | Libc.WNOWAIT); // exited, not yet reaped
        break;
      } catch (LastErrorException e) {
        if (e.getErrorCode() != Errors.EINTR) {
          throw new IllegalStateException("waiting for pid " + pid + ": " + Libc.C.strerror(e.getErrorCode()), e);
        }
      }
    }
    synchronized (this) {
      IntByReference status = new IntByReference();
      while (true) {
        try {
          Libc.C.waitpid(pid, status, 0);
          reaped = true;
          return status.getValue();
        } catch (LastErrorException e) {
          if (e.getErrorCode() != Errors.EINTR) {
            reaped = true;
            throw new IllegalStateException("reaping pid " + pid + ": " + Libc.C.strerror(e.getErrorCode()), e);
          }
        }
      }
    }
  }

  /** Sends {@code signal} unless the child was reaped already; true when sent. */
  public synchronized boolean signal(int signal) {
    if (reaped) {
      return false;
    }
    try {
      Libc.C.kill(pid, signal);
      return true;
    } catch (LastErrorException e) {
      return false;
    }
  }

  /** {@code waitpid} status: the exit code, or -1 when a signal ended the process. */
  public static int exitCode(int status) {
    return (status & 0x7f) == 0 ? (status >> 8) & 0xff : -1;
  }

  /** {@code waitpid} status: the signal that ended the process, or 0. */
  public static int termSignal(int status) {
    int sig = status & 0x7f;
    return sig != 0 && sig != 0x7f ? sig : 0;
  }
}
