package io.mpqemu.fleet;

import java.io.IOException;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.MulticastSocket;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketAddress;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLServerSocket;
import javax.net.ssl.SSLSocket;
import org.jgroups.util.SocketFactory;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The sockets of the membership transport (JGroups TCP): TLS only, both ways, with this host's
 * certificate and the role check of {@link RoleTrustManager}. A member's server socket requires a
 * client certificate and completes the handshake before JGroups reads a byte, so a refused peer never
 * reaches the protocol stack; each refusal is logged once, with the peer's address and why. There are
 * no datagram, multicast or NIO sockets: the membership runs over TLS TCP or not at all.
 */
final class MembershipSockets implements SocketFactory {

  static final String PURPOSE = "cluster membership";
  private static final Logger REFUSED = LoggerFactory.getLogger("io.mpqemu.fleet.Refused");
  private static final String[] PROTOCOLS = {"TLSv1.3", "TLSv1.2"};

  private final SSLContext context;
  private final int handshakeMillis;

  MembershipSockets(SSLContext context, int handshakeMillis) {
    this.context = context;
    this.handshakeMillis = handshakeMillis;
  }

  private Socket client(Socket s) {
    SSLSocket ssl = (SSLSocket) s;
    SSLParameters p = ssl.getSSLParameters();
    p.setProtocols(PROTOCOLS);
    ssl.setSSLParameters(p);
    return ssl;
  }

  @Override
  public Socket createSocket(String name) throws IOException {
    return client(context.getSocketFactory().createSocket());
  }

  @Override
  public Socket createSocket(String name, String host, int port) throws IOException {
    return client(context.getSocketFactory().createSocket(host, port));
  }

  @Override
  public Socket createSocket(String name, InetAddress address, int port) throws IOException {
    return client(context.getSocketFactory().createSocket(address, port));
  }

  @Override
  public Socket createSocket(String name, String host, int port, InetAddress localAddr, int localPort) throws IOException {
    return client(context.getSocketFactory().createSocket(host, port, localAddr, localPort));
  }

  @Override
  public Socket createSocket(String name, InetAddress address, int port, InetAddress localAddr, int localPort)
      throws IOException {
    return client(context.getSocketFactory().createSocket(address, port, localAddr, localPort));
  }

  @Override
  public ServerSocket createServerSocket(String name) throws IOException {
    return new Guarded(server((SSLServerSocket) context.getServerSocketFactory().createServerSocket()));
  }

  @Override
  public ServerSocket createServerSocket(String name, int port) throws IOException {
    return new Guarded(server((SSLServerSocket) context.getServerSocketFactory().createServerSocket(port)));
  }

  @Override
  public ServerSocket createServerSocket(String name, int port, int backlog) throws IOException {
    return new Guarded(server((SSLServerSocket) context.getServerSocketFactory().createServerSocket(port, backlog)));
  }

  @Override
  public ServerSocket createServerSocket(String name, int port, int backlog, InetAddress bindAddr) throws IOException {
    return new Guarded(server((SSLServerSocket) context.getServerSocketFactory().createServerSocket(port, backlog, bindAddr)));
  }

  private static SSLServerSocket server(SSLServerSocket s) {
    SSLParameters p = s.getSSLParameters();
    p.setProtocols(PROTOCOLS);
    p.setNeedClientAuth(true);
    s.setSSLParameters(p);
    return s;
  }

  private static IOException notTls(String what) {
    return new SocketException("cluster membership runs over TLS TCP only: no " + what);
  }

  @Override
  public SocketChannel createSocketChannel(String name) throws IOException {
    throw notTls("NIO sockets");
  }

  @Override
  public ServerSocketChannel createServerSocketChannel(String name) throws IOException {
    throw notTls("NIO server sockets");
  }

  @Override
  public DatagramSocket createDatagramSocket(String name) throws SocketException {
    throw (SocketException) notTls("UDP");
  }

  @Override
  public DatagramSocket createDatagramSocket(String name, SocketAddress bindaddr) throws SocketException {
    throw (SocketException) notTls("UDP");
  }

  @Override
  public DatagramSocket createDatagramSocket(String name, int port) throws SocketException {
    throw (SocketException) notTls("UDP");
  }

  @Override
  public DatagramSocket createDatagramSocket(String name, int port, InetAddress laddr) throws SocketException {
    throw (SocketException) notTls("UDP");
  }

  @Override
  public MulticastSocket createMulticastSocket(String name) throws IOException {
    throw notTls("multicast");
  }

  @Override
  public MulticastSocket createMulticastSocket(String name, int port) throws IOException {
    throw notTls("multicast");
  }

  @Override
  public MulticastSocket createMulticastSocket(String name, SocketAddress bindaddr) throws IOException {
    throw notTls("multicast");
  }

  @Override
  public void close(Socket sock) throws IOException {
    if (sock != null) {
      sock.close();
    }
  }

  @Override
  public void close(ServerSocket sock) throws IOException {
    if (sock != null) {
      sock.close();
    }
  }

  @Override
  public void close(DatagramSocket sock) {
    if (sock != null) {
      sock.close();
    }
  }

  /**
   * A TLS server socket whose {@link #accept()} returns only peers that completed the handshake: a
   * certificate of the cluster CA with a membership role. Everyone else is logged and closed here.
   */
  private final class Guarded extends ServerSocket {
    private final SSLServerSocket s;

    Guarded(SSLServerSocket s) throws IOException {
      this.s = s;
    }

    @Override
    public Socket accept() throws IOException {
      while (true) {
        SSLSocket peer = (SSLSocket) s.accept();
        String who = String.valueOf(peer.getRemoteSocketAddress());
        try {
          peer.setSoTimeout(handshakeMillis);
          peer.startHandshake();
          peer.setSoTimeout(0);
          return peer;
        } catch (IOException e) {
          logRefusal(who, e);
          try {
            peer.close();
          } catch (IOException ignored) {
            // closing a refused peer
          }
          if (s.isClosed()) {
            throw e;
          }
        }
      }
    }

    @Override
    public void bind(SocketAddress endpoint) throws IOException {
      s.bind(endpoint);
    }

    @Override
    public void bind(SocketAddress endpoint, int backlog) throws IOException {
      s.bind(endpoint, backlog);
    }

    @Override
    public InetAddress getInetAddress() {
      return s.getInetAddress();
    }

    @Override
    public int getLocalPort() {
      return s.getLocalPort();
    }

    @Override
    public SocketAddress getLocalSocketAddress() {
      return s.getLocalSocketAddress();
    }

    @Override
    public void close() throws IOException {
      s.close();
    }

    @Override
    public ServerSocketChannel getChannel() {
      return null;
    }

    @Override
    public boolean isBound() {
      return s.isBound();
    }

    @Override
    public boolean isClosed() {
      return s.isClosed();
    }

    @Override
    public synchronized void setSoTimeout(int timeout) throws SocketException {
      s.setSoTimeout(timeout);
    }

    @Override
    public synchronized int getSoTimeout() throws IOException {
      return s.getSoTimeout();
    }

    @Override
    public void setReuseAddress(boolean on) throws SocketException {
      s.setReuseAddress(on);
    }

    @Override
    public boolean getReuseAddress() throws SocketException {
      return s.getReuseAddress();
    }

    @Override
    public synchronized void setReceiveBufferSize(int size) throws SocketException {
      s.setReceiveBufferSize(size);
    }

    @Override
    public synchronized int getReceiveBufferSize() throws SocketException {
      return s.getReceiveBufferSize();
    }

    @Override
    public String toString() {
      return "TLS " + s;
    }
  }

  /** One line per refused peer; a refused certificate was already logged by the trust manager. */
  static void logRefusal(String peer, Throwable e) {
    for (Throwable t = e; t != null; t = t.getCause()) {
      if (t instanceof RoleTrustManager.Refused) {
        return;
      }
    }
    String text = String.valueOf(e.getMessage());
    String why;
    if (e instanceof SocketTimeoutException) {
      why = "no TLS handshake within the time allowed";
    } else if (text.contains("Unsupported or unrecognized SSL message") || text.contains("plaintext")) {
      why = "not TLS (plaintext)";
    } else if (text.contains("Empty client certificate chain") || text.contains("certificate_required")
        || text.contains("null cert")) {
      why = "no client certificate";
    } else if (e instanceof java.io.EOFException || text.contains("Remote host terminated")) {
      why = "closed the connection during the TLS handshake";
    } else {
      why = "TLS handshake failed: " + text;
    }
    REFUSED.warn("{}: refused {}: {}", PURPOSE, peer, why);
  }
}
