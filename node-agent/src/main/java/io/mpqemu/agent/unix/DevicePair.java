package io.mpqemu.agent.unix;

import java.io.Closeable;
import java.io.FileDescriptor;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.Socket;
import java.util.concurrent.atomic.AtomicBoolean;
import org.newsclub.net.unix.AFUNIXSocket;
import org.newsclub.net.unix.FileDescriptorCast;

/**
 * The connected socket pair between a VM's main QEMU and one device process ({@code x-remote}). The
 * remote end becomes the device process's stdin (its {@code x-remote-object} uses {@code fd=0}); the
 * main end goes to the main QEMU with QMP {@code getfd} for {@code x-pci-proxy-dev}.
 *
 * <p>Lifetime: the agent holds both ends for the VM's life, even after each end has been handed to
 * its process, and closes the pair when a process of the VM exits or the VM stops. Closing is not
 * only bookkeeping: junixsocket calls {@code shutdown(2)} before {@code close(2)}, and a shutdown
 * acts on the socket, not on this one descriptor, so it also cuts the copies held by the QEMU
 * processes. That is exactly the signal the surviving peer needs (the device process reads EOF and
 * exits with status 0; the main QEMU sees its proxy's connection go), and the reason the pair must
 * not be closed while both processes are meant to run.
 */
public final class DevicePair implements Closeable {

  private final AFUNIXSocket main;
  private final AFUNIXSocket remote;
  private final FileDescriptor mainEnd;
  private final int remoteEnd;
  private final AtomicBoolean closed = new AtomicBoolean();

  DevicePair(AFUNIXSocket main, AFUNIXSocket remote) throws IOException {
    this.main = main;
    this.remote = remote;
    this.mainEnd = main.getFileDescriptor();
    this.remoteEnd = FileDescriptorCast.using(remote.getFileDescriptor()).as(Integer.class);
  }

  /**
   * The remote end as a redirect for {@code ProcessBuilder.redirectInput} (the bare launcher of the
   * benchmarks and tests): the process gets it as fd 0.
   */
  public ProcessBuilder.Redirect remoteEndAsStdin() throws IOException {
    return FileDescriptorCast.using(remote.getFileDescriptor()).as(ProcessBuilder.Redirect.class);
  }

  /**
   * The number of the agent's descriptor of the remote end, for a spawn to place as the device
   * process's fd 0; the agent's own descriptor stays open (see the class comment). Valid until
   * {@link #close}.
   */
  public int remoteEnd() {
    return remoteEnd;
  }

  /** The main end, to send to the main QEMU with QMP {@code getfd}; valid until {@link #close}. */
  public FileDescriptor mainEnd() {
    return mainEnd;
  }

  /** The main end as a socket, for tests in this package. */
  Socket mainSocket() {
    return main;
  }

  /** The remote end as a socket, for tests in this package. */
  Socket remoteSocket() {
    return remote;
  }

  /**
   * Shuts down and closes both ends: every process holding a copy of either end reads EOF. Safe to
   * call more than once.
   */
  @Override
  public void close() {
    if (!closed.compareAndSet(false, true)) {
      return;
    }
    IOException failure = null;
    for (AFUNIXSocket end : new AFUNIXSocket[] {main, remote}) {
      try {
        end.close();
      } catch (IOException e) {
        failure = e;
      }
    }
    if (failure != null) {
      throw new UncheckedIOException("could not close a device socket pair", failure);
    }
  }
}
