package io.mpqemu.agent.http;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import io.vertx.core.net.SocketAddress;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;

/**
 * Starts a server (gRPC or plain HTTP) on {@code unix:/path} (created 0600) or on {@code tcp:host:port}
 * at a loopback address only: nothing here speaks TLS yet, so nothing may listen beyond this host.
 */
public final class HttpListener {

  private HttpListener() {}

  /** Listens; answers the address with its real port ({@code tcp:127.0.0.1:0} picks one). */
  public static Future<String> listen(Vertx vertx, HttpServer server, String address) {
    return listen(vertx, server, address, "HTTP");
  }

  /** As above; {@code purpose} ("gRPC", "HTTP") names the server in error messages. */
  public static Future<String> listen(Vertx vertx, HttpServer server, String address, String purpose) {
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
        return Future.failedFuture(purpose + " listen address " + address + " needs a port, e.g. tcp:127.0.0.1:7080");
      }
      String host = hostPort.substring(0, colon).replace("[", "").replace("]", "");
      int port;
      try {
        port = Integer.parseInt(hostPort.substring(colon + 1));
      } catch (NumberFormatException e) {
        return Future.failedFuture(purpose + " listen address " + address + " has no valid port");
      }
      return vertx.executeBlocking(() -> InetAddress.getByName(host)).compose(ip -> {
        if (!ip.isLoopbackAddress()) {
          return Future.failedFuture(purpose + " listen address " + address + " is not a loopback address; serving"
              + " beyond this host needs TLS, which is not configured yet: listen on 127.0.0.1 or a UNIX socket");
        }
        return server.listen(port, host).map(s -> "tcp:" + host + ":" + s.actualPort());
      });
    }
    return Future.failedFuture(purpose + " listen address '" + address + "' must be unix:/path or tcp:host:port");
  }
}
