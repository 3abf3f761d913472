package io.mpqemu.agent.state;

import java.io.FileNotFoundException;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;

/**
 * A log a QEMU process appends to through a descriptor the agent opened (O_APPEND), bounded by
 * copy-and-truncate: when it outgrows the bound it becomes {@code <name>.1} and starts again empty,
 * so the descriptor QEMU holds keeps working. Output written in the instant between the copy and
 * the truncation is lost: the price of needing no process between QEMU and the file. Reads take
 * the end of a file only, so a large log never costs the agent memory. Blocking.
 */
public final class BoundedLog {

  private BoundedLog() {}

  /** Where the previous part of {@code log} goes. */
  public static Path previous(Path log) {
    return log.resolveSibling(log.getFileName() + ".1");
  }

  /** Rotates {@code log} once it is larger than {@code maxBytes}; true if it did. */
  public static boolean rotateIfLarger(Path log, long maxBytes) throws IOException {
    long size;
    try {
      size = Files.size(log);
    } catch (NoSuchFileException e) {
      return false;
    }
    if (size <= maxBytes) {
      return false;
    }
    Path tmp = log.resolveSibling(log.getFileName() + ".1.tmp");
    Files.copy(log, tmp, StandardCopyOption.REPLACE_EXISTING);
    try (RandomAccessFile f = new RandomAccessFile(log.toFile(), "rw")) {
      f.setLength(0);
    }
    Files.move(tmp, previous(log), StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    return true;
  }

  /** At most the last {@code maxBytes} of {@code file}; nothing if it does not exist. */
  public static byte[] readTail(Path file, int maxBytes) throws IOException {
    try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "r")) {
      long len = f.length();
      int n = (int) Math.min(len, maxBytes);
      byte[] buf = new byte[n];
      f.seek(len - n);
      f.readFully(buf);
      return buf;
    } catch (FileNotFoundException e) {
      return new byte[0];
    }
  }

  /** Up to {@code maxBytes} of {@code file} from {@code offset} on; nothing if it does not exist or is shorter. */
  public static byte[] read(Path file, long offset, int maxBytes) throws IOException {
    try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "r")) {
      long len = f.length();
      int n = (int) Math.max(0, Math.min(len - offset, maxBytes));
      byte[] buf = new byte[n];
      f.seek(Math.min(offset, len));
      f.readFully(buf);
      return buf;
    } catch (FileNotFoundException e) {
      return new byte[0];
    }
  }

  static long sizeOf(Path file) throws IOException {
    try {
      return Files.size(file);
    } catch (NoSuchFileException e) {
      return 0;
    }
  }
}
