package io.mpqemu.agent.http;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import io.vertx.core.net.SocketAddress;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;

/** Starts an HTTP server on {@code unix:/path} (created 0600) or {@code tcp:host:port} on a loopback address only. */
public final class HttpListener {

  private HttpListener() {}

  /** Listens; answers the address with its real port ({@code tcp:127.0.0.1:0} picks one). */
  public static Future<String> listen(Vertx vertx, HttpServer server, String address) {
    if (address.startsWith("unix:")) {
      Path path = Path.of(address.substring("unix:".length()));
      return vertx.executeBlocking(() -> {
        Files.createDirectories(path.toAbsolutePath().getParent());
        Files.deleteIfExists(path);
        return null;
      }).compose(v -> server.listen(SocketAddress.domainSocketAddress(path.toString())))
          .compose(s -> vertx.executeBlocking(() -> {
            Files.setPosixFilePermissions(path, PosixFilePermissions.fromString("rw-------"));
            return address;
          }));
    }
    if (address.startsWith("tcp:")) {
      String hostPort = address.substring("tcp:".length());
      int colon = hostPort.lastIndexOf(':');
      if (colon < 0) {
        return Future.failedFuture("HTTP listen address " + address + " needs a port: tcp:127.0.0.1:7080");
      }
      String host = hostPort.substring(0, colon).replace("[", "").replace("]", "");
      int port;
      try {
        port = Integer.parseInt(hostPort.substring(colon + 1));
      } catch (NumberFormatException e) {
        return Future.failedFuture("HTTP listen address " + address + " has no valid port");
      }
      return vertx.executeBlocking(() -> InetAddress.getByName(host)).compose(ip -> {
        if (!ip.isLoopbackAddress()) {
          return Future.failedFuture("HTTP listen address " + address + " is not a loopback address; the HTTP"
              + " endpoints are served on this host only (no TLS, no authentication): listen on 127.0.0.1 or a UNIX socket");
        }
        return server.listen(port, host).map(s -> "tcp:" + host + ":" + s.actualPort());
      });
    }
    return Future.failedFuture("HTTP listen address '" + address + "' must be unix:/path or tcp:host:port");
  }
}
