package io.mpqemu.agent.process;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.OptionalLong;

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

  /** The real uid of the process, if it still exists and its real and effective uids agree. */
  public static OptionalLong uid(long pid) {
    try {
      for (String line : Files.readAllLines(Path.of("/proc", Long.toString(pid), "status"), StandardCharsets.US_ASCII)) {
        if (line.startsWith("Uid:")) {
          String[] f = line.substring(4).strip().split("\\s+");
          return f[0].equals(f[1]) ? OptionalLong.of(Long.parseLong(f[0])) : OptionalLong.empty();
        }
      }
    } catch (IOException | RuntimeException e) {
      // gone meanwhile
    }
    return OptionalLong.empty();
  }

  /** True if the process runs {@code executable} (the same file, whatever path its view gives it). */
  public static boolean runs(long pid, Path executable) {
    try {
      return Files.isSameFile(Path.of("/proc", Long.toString(pid), "exe"), executable);
    } catch (IOException e) {
      return false;
    }
  }

  /** The uid this agent runs as. */
  public static long ownUid() {
    return uid(ProcessHandle.current().pid()).orElseThrow();
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
