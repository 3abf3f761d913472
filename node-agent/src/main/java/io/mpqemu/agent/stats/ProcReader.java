package io.mpqemu.agent.stats;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

/**
 * CPU seconds and resident memory of a live process, from {@code /proc/<pid>/stat} and
 * {@code /proc/<pid>/status}: plain file reads, no JNA. The JVM's own CPU figure
 * ({@code io.mpqemu.metrics.ProcessCpuSeconds}) comes from an MXBean that knows only this process, hence
 * /proc for QEMU's. Blocking: call it on a worker.
 */
public final class ProcReader implements FigureReader {

  /**
   * USER_HZ, the unit of utime and stime in /proc/&lt;pid&gt;/stat ({@code sysconf(_SC_CLK_TCK)}): the
   * kernel reports 100 to user space on every Linux architecture, whatever its internal HZ.
   */
  static final int CLOCK_TICKS_PER_SECOND = 100;
  /** utime and stime are fields 14 and 15 of stat; counted from field 3, the first after comm's ')'. */
  private static final int UTIME_AFTER_COMM = 14 - 3;
  private static final int STIME_AFTER_COMM = 15 - 3;

  private final Path proc;

  public ProcReader() {
    this(Path.of("/proc"));
  }

  ProcReader(Path proc) {
    this.proc = proc;
  }

  /** The process's figures, or empty if there is no such process (or it exited while being read). */
  @Override
  public Optional<ProcessFigures> read(long pid) {
    if (pid <= 0) {
      return Optional.empty();
    }
    Path dir = proc.resolve(Long.toString(pid));
    try {
      double cpu = cpuSeconds(text(dir.resolve("stat")));
      long rss = rssBytes(text(dir.resolve("status")));
      return Optional.of(new ProcessFigures(cpu, rss, 0));
    } catch (IOException e) {
      // NoSuchFileException, or ESRCH from a process that exited between open and read
      return Optional.empty();
    }
  }

  /** utime + stime of a stat line, in seconds; read after the last ')', since comm may hold spaces and parentheses. */
  static double cpuSeconds(String stat) {
    int close = stat.lastIndexOf(')');
    String[] fields = close < 0 ? new String[0] : stat.substring(close + 1).trim().split(" +");
    if (fields.length <= STIME_AFTER_COMM) {
      throw new IllegalArgumentException("not a /proc/<pid>/stat line: " + stat);
    }
    long ticks = Long.parseLong(fields[UTIME_AFTER_COMM]) + Long.parseLong(fields[STIME_AFTER_COMM]);
    return ticks / (double) CLOCK_TICKS_PER_SECOND;
  }

  /** VmRSS of a status file, in bytes; 0 without one (a zombie has no memory left). */
  static long rssBytes(String status) {
    for (String line : status.split("\n")) {
      if (line.startsWith("VmRSS:")) {
        String[] value = line.substring("VmRSS:".length()).trim().split("\\s+");
        if (value.length != 2 || !value[1].equals("kB")) {
          throw new IllegalArgumentException("VmRSS not in kB: " + line);
        }
        return Long.parseLong(value[0]) * 1024;
      }
    }
    return 0;
  }

  /**
   * The file in one read of up to 8 KiB (Files.readAllBytes, seeing size 0, reads a byte first), as
   * Latin-1: comm is whatever bytes the process chose, and must not fail a UTF-8 decode.
   */
  private static String text(Path file) throws IOException {
    try (InputStream in = Files.newInputStream(file)) {
      return new String(in.readAllBytes(), StandardCharsets.ISO_8859_1);
    }
  }
}
