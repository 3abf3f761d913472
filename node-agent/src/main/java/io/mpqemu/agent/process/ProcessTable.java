package io.mpqemu.agent.process;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/**
 * What /proc says about processes that are not our children. A process whose parent died is
 * reparented to pid 1 (or a subreaper); if that does not reap it, it stays a zombie, which the JDK
 * still calls alive. Here a zombie counts as gone. Blocking.
 */
public final class ProcessTable {

  private ProcessTable() {}

  /** True while the process exists and has not exited (is not a zombie). */
  public static boolean isRunning(long pid) {
    String stat;
    try {
      stat = Files.readString(Path.of("/proc", Long.toString(pid), "stat"), StandardCharsets.US_ASCII);
    } catch (IOException e) {
      return false;
    }
    int close = stat.lastIndexOf(')');
    if (close < 0 || close + 2 >= stat.length()) {
      return false;
    }
    char state = stat.charAt(close + 2);
    return state != 'Z' && state != 'X' && state != 'x';
  }

  /** SIGKILL to each pid, then waits until none runs; false if some still ran at the deadline. */
  public static boolean killAndAwait(List<Long> pids, Duration within) {
    for (long pid : pids) {
      ProcessHandle.of(pid).ifPresent(ProcessHandle::destroyForcibly);
    }
    return awaitGone(pids, within);
  }

  public static boolean awaitGone(List<Long> pids, Duration within) {
    long deadline = System.nanoTime() + within.toNanos();
    while (pids.stream().anyMatch(ProcessTable::isRunning)) {
      if (System.nanoTime() > deadline) {
        return false;
      }
      try {
        Thread.sleep(10);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return false;
      }
    }
    return true;
  }
}
