package io.mpqemu.http;

import static org.assertj.core.api.Assertions.assertThat;

import io.mpqemu.testing.Await;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.http.HttpServer;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Comparator;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/** UNIX socket listening: never replaces what it should not, never open to other users. */
class HttpListenerTest {

  private Path root;
  private Vertx vertx;

  @BeforeEach
  void start() throws Exception {
    root = Files.createTempDirectory(Path.of("/tmp"), "mpqemu-listen-");
    vertx = Vertx.builder().with(new VertxOptions().setPreferNativeTransport(true)).build();
  }

  @AfterEach
  void stop() throws Exception {
    Await.result(vertx.close());
    try (Stream<Path> files = Files.walk(root)) {
      files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    }
  }

  private HttpServer server(String body) {
    return vertx.createHttpServer().requestHandler(r -> r.response().end(body));
  }


  private static String get(Path socket) throws Exception {
    try (SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX)) {
      ch.connect(UnixDomainSocketAddress.of(socket));
      ch.write(ByteBuffer.wrap("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".getBytes(StandardCharsets.US_ASCII)));
      ByteBuffer buf = ByteBuffer.allocate(4096);
      StringBuilder out = new StringBuilder();
      while (ch.read(buf) > 0) {
        buf.flip();
        out.append(StandardCharsets.US_ASCII.decode(buf));
        buf.clear();
      }
      return out.toString();
    }
  }

  @Test
  @DisplayName("the socket is 0666 (callers are judged by their credentials) and answers; nothing is left beside it")
  void privateSocket() throws Exception {
    Path sock = root.resolve("a.sock");
    assertThat(Await.result(HttpListener.listen(vertx, server("one"), "unix:" + sock))).isEqualTo("unix:" + sock);
    assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(sock))).isEqualTo("rw-rw-rw-");
    assertThat(get(sock)).endsWith("one");
    try (Stream<Path> files = Files.list(root)) {
      assertThat(files.map(p -> p.getFileName().toString())).containsExactly("a.sock");
    }
  }

  @Test
  @DisplayName("a regular file at the path is refused and kept")
  void regularFileKept() throws Exception {
    Path file = root.resolve("control-plane.db");
    Files.writeString(file, "precious");
    assertThat(Await.failure(HttpListener.listen(vertx, server("x"), "unix:" + file)))
        .hasMessageContaining("exists and is not a socket");
    assertThat(Files.readString(file)).isEqualTo("precious");
    try (Stream<Path> files = Files.list(root)) {
      assertThat(files.map(p -> p.getFileName().toString())).containsExactly("control-plane.db");
    }
  }

  @Test
  @DisplayName("a second server on a live socket is refused; the first keeps serving")
  void liveSocketKept() throws Exception {
    Path sock = root.resolve("b.sock");
    Await.result(HttpListener.listen(vertx, server("first"), "unix:" + sock));
    HttpServer second = server("second");
    assertThat(Await.failure(HttpListener.listen(vertx, second, "unix:" + sock, "gRPC")))
        .hasMessageContaining("gRPC listen path " + sock + " is in use");
    assertThat(get(sock)).endsWith("first");
  }

  @Test
  @DisplayName("a socket left by a server that is gone is replaced")
  void staleSocketReplaced() throws Exception {
    Path sock = root.resolve("c.sock");
    HttpServer first = server("first");
    Await.result(HttpListener.listen(vertx, first, "unix:" + sock));
    Await.result(first.close());
    // the kernel socket is closed; a file may remain, as after a crash
    if (!Files.exists(sock)) {
      try (var ch = java.nio.channels.ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
        ch.bind(UnixDomainSocketAddress.of(sock));
      }
    }
    assertThat(sock).exists();
    Await.result(HttpListener.listen(vertx, server("second"), "unix:" + sock));
    assertThat(get(sock)).endsWith("second");
  }
}
