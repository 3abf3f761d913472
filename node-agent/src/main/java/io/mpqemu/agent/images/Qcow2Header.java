package io.mpqemu.agent.images;

import java.nio.ByteBuffer;
import java.util.Optional;

/**
 * What a qcow2 header says that could make QEMU open another file: a backing file (offset at byte 8,
 * name length at byte 16) or, from version 3, an external data file (incompatible feature bit 2,
 * byte 72). Pure: it reads bytes the caller read from the open image.
 */
public final class Qcow2Header {

  /** Bytes to read: the version 3 header up to and including the incompatible features. */
  public static final int BYTES = 80;

  private static final int MAGIC = 0x514649fb; // "QFI\xfb"
  private static final long INCOMPAT_DATA_FILE = 1L << 2;

  private Qcow2Header() {}

  /** True when {@code header} starts with the qcow2 magic. */
  public static boolean isQcow2(byte[] header) {
    return header.length >= 4 && ByteBuffer.wrap(header).getInt(0) == MAGIC;
  }

  /** The disk size a guest sees, from a qcow2 header (bytes 24 to 31); -1 when the header is too short. */
  public static long virtualSize(byte[] header) {
    return header.length < 32 ? -1 : ByteBuffer.wrap(header).getLong(24);
  }

  /**
   * Why this qcow2 image may not be used, or empty when it names no other file. A header too short
   * to read is refused too: QEMU would not open it either.
   */
  public static Optional<String> refusal(byte[] header) {
    if (!isQcow2(header)) {
      return Optional.empty(); // QEMU refuses it as "not in qcow2 format"; nothing else to open
    }
    ByteBuffer b = ByteBuffer.wrap(header);
    if (header.length < 20) {
      return Optional.of("its qcow2 header is truncated");
    }
    int version = b.getInt(4);
    long backingOffset = b.getLong(8);
    if (backingOffset != 0) {
      return Optional.of("its qcow2 header names a backing file; images with a backing file are not used"
          + " (flatten it with qemu-img convert)");
    }
    if (version >= 3) {
      if (header.length < BYTES) {
        return Optional.of("its qcow2 header is truncated");
      }
      if ((b.getLong(72) & INCOMPAT_DATA_FILE) != 0) {
        return Optional.of("its qcow2 header names an external data file; such images are not used");
      }
    }
    return Optional.empty();
  }
}
