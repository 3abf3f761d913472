package io.mpqemu.agent.console;

import io.vertx.core.buffer.Buffer;

/** The last bytes of a console's output, up to a capacity: what a newly attached session sees first. Pure. */
final class History {

  private final byte[] ring;
  private long written;

  History(int capacity) {
    if (capacity <= 0) {
      throw new IllegalArgumentException("capacity must be positive: " + capacity);
    }
    ring = new byte[capacity];
  }

  void append(byte[] data) {
    int from = Math.max(0, data.length - ring.length);
    for (int i = from; i < data.length; i++) {
      ring[(int) ((written + i - from) % ring.length)] = data[i];
    }
    written += data.length - from;
  }

  /** At most the last {@code max} bytes, oldest first. */
  Buffer last(int max) {
    int n = (int) Math.min(Math.min(written, ring.length), max);
    byte[] out = new byte[n];
    long start = written - n;
    for (int i = 0; i < n; i++) {
      out[i] = ring[(int) ((start + i) % ring.length)];
    }
    return Buffer.buffer(out);
  }
}
