package io.mpqemu.testing;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * A userspace TCP proxy (on loopback unless told) that a test controls, for network faults this kernel cannot make
 * (no {@code netem}): {@link #blackhole} stops forwarding in both directions while keeping every
 * connection open, as a partition does (the peers see silence, not a reset), and {@link #heal} lets the
 * bytes held back through.
 */
public final class TcpProxy implements AutoCloseable {

  private final ServerSocket listener;
  private final InetSocketAddress target;
  private final List<Socket> sockets = new CopyOnWriteArrayList<>();
  private final Object gate = new Object();
  private volatile boolean blocked;
  private volatile boolean closed;

  private TcpProxy(InetSocketAddress target, InetAddress bind) throws IOException {
    this.target = target;
    this.listener = new ServerSocket(0, 50, bind);
    Thread accept = new Thread(this::accept, "tcp-proxy-accept-" + port());
    accept.setDaemon(true);
    accept.start();
  }

  /** A proxy from a free loopback port to {@code host:port}. */
  public static TcpProxy to(String host, int port) throws IOException {
    return new TcpProxy(new InetSocketAddress(host, port), InetAddress.getLoopbackAddress());
  }

  /** A proxy from a free port of {@code bind} (an address of this host others reach it on) to {@code host:port}. */
  public static TcpProxy on(String bind, String host, int port) throws IOException {
    return new TcpProxy(new InetSocketAddress(host, port), InetAddress.getByName(bind));
  }

  public int port() {
    return listener.getLocalPort();
  }

  /** From now on nothing passes either way; connections stay open, new ones are accepted and get nothing. */
  public void blackhole() {
    blocked = true;
  }

  /** Bytes flow again, those held back first. */
  public void heal() {
    synchronized (gate) {
      blocked = false;
      gate.notifyAll();
    }
  }

  private void accept() {
    while (!closed) {
      try {
        Socket client = listener.accept();
        Socket server = new Socket();
        server.connect(target, 5000);
        sockets.add(client);
        sockets.add(server);
        pump(client, server);
        pump(server, client);
      } catch (IOException e) {
        if (closed) {
          return;
        }
      }
    }
  }

  private void pump(Socket from, Socket to) {
    Thread t = new Thread(() -> {
      byte[] buffer = new byte[16384];
      try (InputStream in = from.getInputStream(); OutputStream out = to.getOutputStream()) {
        for (int n = in.read(buffer); n >= 0; n = in.read(buffer)) {
          waitWhileBlocked();
          out.write(buffer, 0, n);
          out.flush();
        }
      } catch (IOException | InterruptedException e) {
        // one side closed: close the other
      } finally {
        closeQuietly(from);
        closeQuietly(to);
      }
    }, "tcp-proxy-pump");
    t.setDaemon(true);
    t.start();
  }

  private void waitWhileBlocked() throws InterruptedException {
    synchronized (gate) {
      while (blocked && !closed) {
        gate.wait(100);
      }
    }
  }

  private static void closeQuietly(Socket s) {
    try {
      s.close();
    } catch (IOException ignored) {
      // closing anyway
    }
  }

  @Override
  public void close() {
    closed = true;
    heal();
    try {
      listener.close();
    } catch (IOException ignored) {
      // closing anyway
    }
    sockets.forEach(TcpProxy::closeQuietly);
  }
}
