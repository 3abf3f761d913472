package io.mpqemu.http;

import io.mpqemu.access.GrpcGate;
import io.mpqemu.fleet.ClusterTls;
import io.mpqemu.fleet.Role;
import io.mpqemu.net.Endpoint;
import io.vertx.core.Future;
import io.vertx.core.Handler;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpVersion;
import io.vertx.core.net.SocketAddress;
import java.io.IOException;
import java.net.ConnectException;
import java.net.InetAddress;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Set;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Starts a server (gRPC or plain HTTP) on {@code unix:/path} (mode 0666: every local user may connect,
 * and the server's gate decides from the caller's credentials what it may do) or on {@code tcp:host:port}
 * at a loopback address only, unless the server speaks mutual TLS: plaintext never leaves this host.
 */
public final class HttpListener {

  private static final Logger LOG = LoggerFactory.getLogger(HttpListener.class);
  private static final int S_IFMT = 0170000;
  private static final int S_IFSOCK = 0140000;

  private HttpListener() {}

  /**
   * Binds a UNIX socket so that it appears at its path only when complete: the socket is created inside
   * a fresh 0700 directory beside its path, set to 0666 there (who may do what is decided per caller from
   * its credentials, see io.mpqemu.access), and then renamed into place. An existing file
   * at the path is replaced only when it is a socket nobody answers on (left by a crash); anything
   * else (a live service, a regular file, a directory) fails with a message, and is left alone.
   */
  private static Future<String> listenUnix(Vertx vertx, HttpServer server, Path socket, String purpose) {
    Path path = socket.toAbsolutePath();
    Path[] staging = new Path[1];
    return vertx.executeBlocking(() -> {
      Files.createDirectories(path.getParent());
      refuseIfInUse(path, purpose);
      staging[0] = Files.createTempDirectory(path.getParent(), ".bind-",
          PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
      return staging[0].resolve("s");
    }).compose(tmp -> server.listen(SocketAddress.domainSocketAddress(tmp.toString())).compose(s -> vertx.executeBlocking(() -> {
      Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("rw-rw-rw-"));
      refuseIfInUse(path, purpose);
      Files.move(tmp, path, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
      return "unix:" + path;
    })).recover(e -> server.close().transform(ignored -> Future.<String>failedFuture(e)))).eventually(() -> vertx.executeBlocking(() -> {
      if (staging[0] != null) {
        Files.deleteIfExists(staging[0].resolve("s"));
        Files.deleteIfExists(staging[0]);
      }
      return null;
    }));
  }

  /** Deletes a stale socket at {@code path}; fails when something else is there or a server answers. */
  private static void refuseIfInUse(Path path, String purpose) throws IOException {
    if (!Files.exists(path, LinkOption.NOFOLLOW_LINKS)) {
      return;
    }
    int mode = (Integer) Files.getAttribute(path, "unix:mode", LinkOption.NOFOLLOW_LINKS);
    if ((mode & S_IFMT) != S_IFSOCK) {
      throw new IOException(purpose + " listen path " + path + " exists and is not a socket; refusing to replace it"
          + " (choose another path, or remove the file if it is yours)");
    }
    try (SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX)) {
      ch.connect(UnixDomainSocketAddress.of(path));
      throw new IOException(purpose + " listen path " + path + " is in use: another process answers on it");
    } catch (ConnectException stale) {
      Files.deleteIfExists(path); // a socket left behind by a process that is gone
    }
  }

  /**
   * A gRPC (or any HTTP/2) server on {@code address}: with {@code tls}, a {@code tcp:} address speaks
   * mutual TLS (HTTP/2 only) and admits only certificates of the {@code allowed} roles, and connections
   * refused before any certificate (plaintext, none offered) are logged under {@code purpose}; a UNIX
   * socket is plaintext; a plaintext {@code tcp:} address needs {@code insecureTcp} and loopback, and is
   * logged as insecure. No connection is upgraded from HTTP/1.1. {@code created} gets the server (to
   * close it later); the future answers the bound address.
   */
  public static Future<String> listenGrpc(Vertx vertx, Handler<HttpServerRequest> handler, String address, ClusterTls tls,
      boolean insecureTcp, String purpose, Set<Role> allowed, Consumer<HttpServer> created) {
    boolean tcp = Endpoint.isTcp(address);
    boolean secure = tls != null && tcp;
    if (tcp && !secure && !insecureTcp) {
      return Future.failedFuture(purpose + ": a tcp: address without TLS would take calls from any user of this host;"
          + " listen on a unix: socket (callers identified by their uid), configure TLS (--cluster FILE), or accept"
          + " that risk on loopback with --insecure-plaintext-tcp");
    }
    HttpServerOptions options = secure ? tls.server(purpose, allowed).setAlpnVersions(List.of(HttpVersion.HTTP_2))
        : new HttpServerOptions();
    HttpServer server = vertx.createHttpServer(options);
    if (secure) {
      server.exceptionHandler(ClusterTls.refusalLogger(purpose));
    }
    if (handler instanceof GrpcGate gate) {
      server.connectionHandler(gate::connected);
    }
    created.accept(server);
    server.requestHandler(handler);
    return listen(vertx, server, address, "gRPC", secure).map(bound -> {
      if (tcp && !secure) {
        LOG.warn("{}: plaintext gRPC on {} (--insecure-plaintext-tcp): every user of this host may call it as an"
            + " operator", purpose, bound);
      }
      return bound;
    });
  }

  /** Listens; answers the address with its real port ({@code tcp:127.0.0.1:0} picks one). */
  public static Future<String> listen(Vertx vertx, HttpServer server, String address) {
    return listen(vertx, server, address, "HTTP");
  }

  /** As above; {@code purpose} ("gRPC", "HTTP") names the server in error messages. */
  public static Future<String> listen(Vertx vertx, HttpServer server, String address, String purpose) {
    return listen(vertx, server, address, purpose, false);
  }

  /**
   * As above; {@code tls} says the server was created with mutual TLS options, and may then listen on
   * any address. Without TLS a TCP address must be loopback.
   */
  public static Future<String> listen(Vertx vertx, HttpServer server, String address, String purpose, boolean tls) {
    Endpoint endpoint;
    try {
      endpoint = Endpoint.parse(purpose + " listen address", address);
    } catch (IllegalArgumentException e) {
      return Future.failedFuture(e.getMessage());
    }
    if (endpoint instanceof Endpoint.Unix unix) {
      return listenUnix(vertx, server, unix.path(), purpose);
    }
    Endpoint.Tcp tcp = (Endpoint.Tcp) endpoint;
    return vertx.executeBlocking(() -> InetAddress.getByName(tcp.host())).compose(ip -> {
      if (!tls && !ip.isLoopbackAddress()) {
        return Future.failedFuture(purpose + " listen address " + address + " is not a loopback address; serving"
            + " beyond this host needs TLS (--cluster FILE with the cluster's certificates): listen on 127.0.0.1 or a"
            + " UNIX socket, or configure the cluster");
      }
      return server.listen(tcp.port(), tcp.host()).map(s -> new Endpoint.Tcp(tcp.host(), s.actualPort()).toString());
    });
  }
}
