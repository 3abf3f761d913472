package io.mpqemu.agent.sys;

import com.sun.jna.LastErrorException;
import com.sun.jna.NativeLong;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

/**
 * TAP devices: made by opening {@code /dev/net/tun} (root: it is 0600 on these hosts) and naming the
 * interface, not persistent, so the interface goes away when the last descriptor on it closes (the QEMU
 * process it was handed to exits, or the agent's launch fails before). No tap is left behind.
 */
public final class Taps {

  private static final long TUNSETIFF = 0x400454caL;
  private static final short IFF_TAP = 0x0002;
  private static final short IFF_NO_PI = 0x1000;
  /** struct ifreq: a 16-byte name, then the union whose first member here is the flags (short). */
  private static final int IFREQ_BYTES = 40;

  private Taps() {}

  /** Makes the tap {@code name} (at most 15 bytes) and answers its descriptor, close-on-exec. */
  public static Fd open(String name) throws IOException {
    byte[] bytes = name.getBytes(StandardCharsets.US_ASCII);
    if (bytes.length == 0 || bytes.length > 15) {
      throw new IllegalArgumentException("an interface name has 1 to 15 bytes: " + name);
    }
    Fd tun = Fd.open(Path.of("/dev/net/tun"), Libc.O_RDWR, 0);
    ByteBuffer ifreq = ByteBuffer.allocate(IFREQ_BYTES).order(ByteOrder.nativeOrder());
    ifreq.put(bytes);
    ifreq.putShort(16, (short) (IFF_TAP | IFF_NO_PI));
    try {
      Libc.C.ioctl(tun.number(), new NativeLong(TUNSETIFF), ifreq.array());
      return tun;
    } catch (LastErrorException e) {
      tun.close();
      throw Errors.io("cannot make tap " + name, e);
    }
  }
}
