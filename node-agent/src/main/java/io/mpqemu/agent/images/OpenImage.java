package io.mpqemu.agent.images;

import io.mpqemu.agent.sys.Fd;

/**
 * A disk image the agent opened and checked: QEMU gets {@code fd}, never the path.
 *
 * @param image the path relative to the image root, as the spec names it (for messages only)
 * @param size in bytes, read from the descriptor
 */
public record OpenImage(String image, Fd fd, boolean readOnly, long size) implements AutoCloseable {

  @Override
  public void close() {
    fd.close();
  }
}
