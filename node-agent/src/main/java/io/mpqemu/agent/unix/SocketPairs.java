package io.mpqemu.agent.unix;

import java.io.IOException;
import java.net.SocketTimeoutException;
import java.util.UUID;
import org.newsclub.net.unix.AFUNIXServerSocket;
import org.newsclub.net.unix.AFUNIXSocket;
import org.newsclub.net.unix.AFUNIXSocketAddress;
import org.newsclub.net.unix.AFUNIXSocketCredentials;

/** Opens the connected socket pairs that join a VM's main QEMU to its device processes. */
public final class SocketPairs {

  private static final int ACCEPT_TIMEOUT_MILLIS = 5_000;

  private SocketPairs() {}

  /**
   * A connected AF_UNIX SOCK_STREAM pair; the caller owns and closes it.
   *
   * <p>Not {@code AFUNIXSocketPair.open()}: in junixsocket 2.10.1 it leaks two descriptors per call
   * (it creates two sockets, then lets socketpair(2) replace their descriptors without closing
   * them; measured with /proc/self/fd). The pair is made instead by a one-shot listener in the
   * abstract namespace (no file on disk) under a random name, and the accepted peer must be this
   * process. For QEMU the result is the same: a connected stream socket on each side.
   */
  public static DevicePair open() throws IOException {
    AFUNIXSocketAddress address =
        AFUNIXSocketAddress.inAbstractNamespace("mpqemu-pair-" + UUID.randomUUID());
    AFUNIXSocket main = null;
    AFUNIXSocket remote = null;
    try (AFUNIXServerSocket listener = AFUNIXServerSocket.bindOn(address)) {
      listener.setSoTimeout(ACCEPT_TIMEOUT_MILLIS);
      main = AFUNIXSocket.newInstance();
      main.connect(address);
      remote = listener.accept();
      requireThisProcess(remote.getPeerCredentials());
      return new DevicePair(main, remote);
    } catch (SocketTimeoutException e) {
      closeQuietly(main, remote);
      throw new IOException("a socket pair did not connect within " + ACCEPT_TIMEOUT_MILLIS + " ms", e);
    } catch (IOException | RuntimeException e) {
      closeQuietly(main, remote);
      throw e;
    }
  }

  private static void requireThisProcess(AFUNIXSocketCredentials peer) throws IOException {
    long self = ProcessHandle.current().pid();
    if (peer == null || peer.getPid() != self) {
      throw new IOException(
          "a socket pair was connected by another process (" + peer + "), not by pid " + self);
    }
  }

  private static void closeQuietly(AFUNIXSocket... sockets) {
    for (AFUNIXSocket socket : sockets) {
      if (socket != null) {
        try {
          socket.close();
        } catch (IOException e) {
          // closing after a failure: the first error is the one reported
        }
      }
    }
  }
}
