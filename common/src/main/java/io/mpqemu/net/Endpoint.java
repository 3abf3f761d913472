package io.mpqemu.net;

import io.mpqemu.errors.Echo;
import io.vertx.core.net.SocketAddress;
import java.nio.file.Path;

/**
 * An address as written on a command line, in a config file or in a heartbeat: {@code unix:/path} or
 * {@code tcp:host:port} ({@code tcp:[::1]:7000} for IPv6). The one parser of that syntax.
 */
public sealed interface Endpoint {

  /** How the syntax is described in error messages. */
  String SYNTAX = "unix:/path or tcp:host:port";

  /** The address for Vert.x clients and servers. */
  SocketAddress socketAddress();

  /**
   * Parses {@code text}; an {@link IllegalArgumentException} says that {@code what} (e.g. "--server")
   * must be {@value #SYNTAX}, and quotes what it got (cut short and printable: {@link Echo}), or that a
   * UNIX socket path is longer than {@link UnixSocketPaths#MAX_BYTES}. Port 0 is accepted (a listener picks one).
   */
  static Endpoint parse(String what, String text) {
    if (text != null && text.startsWith("unix:") && text.length() > "unix:".length()) {
      Path path = Path.of(text.substring("unix:".length()));
      UnixSocketPaths.check(what, path);
      return new Unix(path);
    }
    if (text != null && text.startsWith("tcp:")) {
      String hostPort = text.substring("tcp:".length());
      int colon = hostPort.lastIndexOf(':');
      if (colon > 0) {
        try {
          int port = Integer.parseInt(hostPort.substring(colon + 1));
          String host = hostPort.substring(0, colon).replace("[", "").replace("]", "");
          if (port >= 0 && port < 65536 && !host.isEmpty()) {
            return new Tcp(host, port);
          }
        } catch (NumberFormatException ignored) {
          // falls through to the error that shows the syntax
        }
      }
    }
    throw new IllegalArgumentException(what + " must be " + SYNTAX + ", not " + Echo.quote(text));
  }

  /** True when {@code text} parses. */
  static boolean valid(String text) {
    try {
      parse("", text);
      return true;
    } catch (IllegalArgumentException e) {
      return false;
    }
  }

  /** True when {@code text} parses as a TCP address. */
  static boolean isTcp(String text) {
    return valid(text) && parse("", text) instanceof Tcp;
  }

  /** A UNIX domain socket. */
  record Unix(Path path) implements Endpoint {
    @Override
    public SocketAddress socketAddress() {
      return SocketAddress.domainSocketAddress(path.toString());
    }

    @Override
    public String toString() {
      return "unix:" + path;
    }
  }

  /** A TCP address; {@code host} is a name or an IP address without brackets. */
  record Tcp(String host, int port) implements Endpoint {
    @Override
    public SocketAddress socketAddress() {
      return SocketAddress.inetSocketAddress(port, host);
    }

    @Override
    public String toString() {
      return "tcp:" + (host.contains(":") ? "[" + host + "]" : host) + ":" + port;
    }
  }
}
