package io.mpqemu.agent.state;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;

/**
 * The guest's serial console, which QEMU appends to through a descriptor (chardev file, append=on),
 * bounded as a {@link BoundedLog}: console.log, then console.log.1. The QEMU processes' own logs
 * (main.log, dev-*.log) are bounded the same way ({@link #rotateAllIfLarger}). Blocking.
 */
public final class ConsoleLog {

  /** What a read returns: the bytes, and whether older output was left out. */
  public record Tail(byte[] data, boolean truncated) {}

  private ConsoleLog() {}

  /** Rotates the log once it is larger than {@code maxBytes}; true if it did. */
  public static boolean rotateIfLarger(VmPaths paths, long maxBytes) throws IOException {
    return BoundedLog.rotateIfLarger(paths.consoleLog(), maxBytes);
  }

  /** Rotates the console log and every process log of the VM that is larger than {@code maxBytes}. */
  public static void rotateAllIfLarger(VmPaths paths, long maxBytes) throws IOException {
    rotateIfLarger(paths, maxBytes);
    for (Path log : paths.processLogs()) {
      BoundedLog.rotateIfLarger(log, maxBytes);
    }
  }

  /** At most {@code maxBytes} from the end of the console output (previous part included). */
  public static Tail tail(VmPaths paths, int maxBytes) throws IOException {
    byte[] current = BoundedLog.readTail(paths.consoleLog(), maxBytes);
    long currentSize = BoundedLog.sizeOf(paths.consoleLog());
    long previousSize = BoundedLog.sizeOf(paths.consoleLogPrevious());
    int room = maxBytes - current.length;
    byte[] previous = room > 0 ? BoundedLog.readTail(paths.consoleLogPrevious(), room) : new byte[0];
    byte[] out = new byte[previous.length + current.length];
    System.arraycopy(previous, 0, out, 0, previous.length);
    System.arraycopy(current, 0, out, previous.length, current.length);
    boolean truncated = current.length < currentSize || previous.length < previousSize;
    return new Tail(out, truncated);
  }

  /** Output appended to the console log after a position in it, and the position after that output. */
  public record Since(byte[] data, long next) {}

  /** How far the console log goes now: where a reader that wants only what comes next starts. */
  public static long end(VmPaths paths) throws IOException {
    return BoundedLog.sizeOf(paths.consoleLog());
  }

  /**
   * At most {@code maxBytes} of what was appended after {@code offset} (a position {@link #end} or an
   * earlier call gave). Follows a rotation: the log shorter than the position means it was rotated,
   * so the rest of the previous part comes first, then the new log from its start (within the bound: a
   * reader that falls a whole bound behind skips what it did not read of the previous part).
   */
  public static Since since(VmPaths paths, long offset, int maxBytes) throws IOException {
    long size = BoundedLog.sizeOf(paths.consoleLog());
    if (size >= offset) {
      byte[] data = BoundedLog.read(paths.consoleLog(), offset, maxBytes);
      return new Since(data, offset + data.length);
    }
    byte[] rest = BoundedLog.read(paths.consoleLogPrevious(), offset, maxBytes);
    byte[] head = BoundedLog.read(paths.consoleLog(), 0, maxBytes - rest.length);
    byte[] data = new byte[rest.length + head.length];
    System.arraycopy(rest, 0, data, 0, rest.length);
    System.arraycopy(head, 0, data, rest.length, head.length);
    return new Since(data, head.length);
  }
}
