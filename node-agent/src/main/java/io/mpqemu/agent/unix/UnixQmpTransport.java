package io.mpqemu.agent.unix;

import io.mpqemu.agent.qemu.QmpTransport;
import java.io.BufferedReader;
import java.io.FileDescriptor;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.InterruptedIOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Objects;
import org.newsclub.net.unix.AFUNIXSocket;
import org.newsclub.net.unix.AFUNIXSocketAddress;

/**
 * QMP over the UNIX socket QEMU listens on ({@code -chardev socket,server=on,wait=off}). Blocking;
 * one thread may read while another sends. {@link #close} unblocks a reader (it reads end of
 * stream or an exception).
 */
public final class UnixQmpTransport implements QmpTransport {

  private static final long RETRY_MILLIS = 20;

  private final AFUNIXSocket socket;
  private final BufferedReader reader;
  private final OutputStream output;

  private UnixQmpTransport(AFUNIXSocket socket) throws IOException {
    this.socket = socket;
    this.reader =
        new BufferedReader(new InputStreamReader(socket.getInputStream(), StandardCharsets.UTF_8));
    this.output = socket.getOutputStream();
  }

  /**
   * Connects to QEMU's QMP socket, retrying until the socket file exists and accepts: QEMU creates
   * it shortly after it starts.
   *
   * @throws IOException when nothing accepted within {@code timeout}, with the last error as cause
   */
  public static UnixQmpTransport connect(Path socketPath, Duration timeout) throws IOException {
    Objects.requireNonNull(socketPath, "socketPath");
    long deadline = System.nanoTime() + timeout.toNanos();
    AFUNIXSocketAddress address = AFUNIXSocketAddress.of(socketPath);
    while (true) {
      // Not AFUNIXSocket.connectTo: in junixsocket 2.10.1 it leaks the socket when connect fails.
      AFUNIXSocket socket = AFUNIXSocket.newInstance();
      try {
        socket.connect(address);
      } catch (IOException e) {
        socket.close();
        if (System.nanoTime() - deadline >= 0) {
          throw new IOException(
              "QMP socket " + socketPath + " did not accept a connection within " + timeout, e);
        }
        pause(socketPath);
        continue;
      }
      try {
        return new UnixQmpTransport(socket);
      } catch (IOException | RuntimeException e) {
        socket.close();
        throw e;
      }
    }
  }

  private static void pause(Path socketPath) throws InterruptedIOException {
    try {
      Thread.sleep(RETRY_MILLIS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new InterruptedIOException("interrupted while connecting to " + socketPath);
    }
  }

  /** Writes {@code line} and a newline; {@code fd}, when not null, travels with this write only. */
  @Override
  public synchronized void send(String line, FileDescriptor fd) throws IOException {
    byte[] bytes = (line + "\n").getBytes(StandardCharsets.UTF_8);
    if (fd == null) {
      output.write(bytes);
      output.flush();
      return;
    }
    socket.setOutboundFileDescriptors(fd);
    try {
      output.write(bytes);
      output.flush();
    } finally {
      socket.setOutboundFileDescriptors((FileDescriptor[]) null);
    }
  }

  @Override
  public String readLine() throws IOException {
    return reader.readLine();
  }

  @Override
  public void close() throws IOException {
    socket.close();
  }
}
