package io.mpqemu.agent.state;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;

/**
 * The guest's serial console, which QEMU appends to a file (chardev file, append=on). The agent
 * bounds it by copy-and-truncate: when the file outgrows the bound, it becomes console.log.1 and
 * console.log starts again empty. Output the guest writes in the instant between the copy and the
 * truncation is lost; that is the price of needing no process between QEMU and the file. Blocking.
 */
public final class ConsoleLog {

  /** What a read returns: the bytes, and whether older output was left out. */
  public record Tail(byte[] data, boolean truncated) {}

  private ConsoleLog() {}

  /** Rotates the log once it is larger than {@code maxBytes}; true if it did. */
  public static boolean rotateIfLarger(VmPaths paths, long maxBytes) throws IOException {
    Path log = paths.consoleLog();
    long size;
    try {
      size = Files.size(log);
    } catch (NoSuchFileException e) {
      return false;
    }
    if (size <= maxBytes) {
      return false;
    }
    Path tmp = paths.dir().resolve("console.log.1.tmp");
    Files.copy(log, tmp, StandardCopyOption.REPLACE_EXISTING);
    try (RandomAccessFile f = new RandomAccessFile(log.toFile(), "rw")) {
      f.setLength(0);
    }
    Files.move(tmp, paths.consoleLogPrevious(), StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    return true;
  }

  /** At most {@code maxBytes} from the end of the console output (previous part included). */
  public static Tail tail(VmPaths paths, int maxBytes) throws IOException {
    byte[] current = readTail(paths.consoleLog(), maxBytes);
    long currentSize = sizeOf(paths.consoleLog());
    long previousSize = sizeOf(paths.consoleLogPrevious());
    int room = maxBytes - current.length;
    byte[] previous = room > 0 ? readTail(paths.consoleLogPrevious(), room) : new byte[0];
    byte[] out = new byte[previous.length + current.length];
    System.arraycopy(previous, 0, out, 0, previous.length);
    System.arraycopy(current, 0, out, previous.length, current.length);
    boolean truncated = current.length < currentSize || previous.length < previousSize;
    return new Tail(out, truncated);
  }

  private static long sizeOf(Path file) throws IOException {
    try {
      return Files.size(file);
    } catch (NoSuchFileException e) {
      return 0;
    }
  }

  private static byte[] readTail(Path file, int maxBytes) throws IOException {
    try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "r")) {
      long len = f.length();
      int n = (int) Math.min(len, maxBytes);
      byte[] buf = new byte[n];
      f.seek(len - n);
      f.readFully(buf);
      return buf;
    } catch (java.io.FileNotFoundException e) {
      return new byte[0];
    }
  }
}
