package io.mpqemu.agent.unix;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayOutputStream;
import java.io.FileDescriptor;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.newsclub.net.unix.AFUNIXServerSocket;
import org.newsclub.net.unix.AFUNIXSocket;
import org.newsclub.net.unix.AFUNIXSocketAddress;

class UnixQmpTransportTest {

  @TempDir Path dir;

  @Test
  @DisplayName("connect waits for a socket that appears only after it started")
  void waitsForTheSocket() throws Exception {
    Path path = dir.resolve("qmp.sock");
    CompletableFuture<AFUNIXServerSocket> server =
        CompletableFuture.supplyAsync(
            () -> {
              try {
                Thread.sleep(300);
                return AFUNIXServerSocket.bindOn(AFUNIXSocketAddress.of(path));
              } catch (Exception e) {
                throw new IllegalStateException(e);
              }
            });
    try (UnixQmpTransport transport = UnixQmpTransport.connect(path, Duration.ofSeconds(5));
        AFUNIXServerSocket listening = server.get(5, TimeUnit.SECONDS);
        AFUNIXSocket peer = listening.accept()) {
      peer.getOutputStream().write("{\"QMP\": {}}\n".getBytes(StandardCharsets.UTF_8));
      assertThat(transport.readLine()).isEqualTo("{\"QMP\": {}}");
    }
  }

  @Test
  @DisplayName("connect gives up after its timeout and leaves no descriptor open")
  void timesOut() throws Exception {
    Path absent = dir.resolve("absent.sock");
    Path stale = dir.resolve("stale.sock");
    try (AFUNIXServerSocket gone = AFUNIXServerSocket.newInstance()) {
      gone.setDeleteOnClose(false);
      gone.bind(AFUNIXSocketAddress.of(stale));
    }
    assertThat(stale).exists();
    assertThatThrownBy(() -> UnixQmpTransport.connect(absent, Duration.ofMillis(100)))
        .isInstanceOf(IOException.class)
        .hasMessageContaining("did not accept a connection within PT0.1S");
    long before = OpenDescriptors.count();

    for (Path path : new Path[] {absent, stale, absent, stale}) {
      assertThatThrownBy(() -> UnixQmpTransport.connect(path, Duration.ofMillis(100)))
          .isInstanceOf(IOException.class);
    }

    assertThat(OpenDescriptors.count()).isLessThanOrEqualTo(before);
  }

  @Test
  @DisplayName("lines travel both ways as UTF-8, and a descriptor travels with its own line only")
  void sendsLinesAndDescriptors() throws Exception {
    Path path = dir.resolve("qmp.sock");
    try (AFUNIXServerSocket server = AFUNIXServerSocket.bindOn(AFUNIXSocketAddress.of(path));
        UnixQmpTransport transport = UnixQmpTransport.connect(path, Duration.ofSeconds(5));
        AFUNIXSocket peer = server.accept();
        DevicePair pair = SocketPairs.open()) {
      peer.setAncillaryReceiveBufferSize(1024);
      InputStream in = peer.getInputStream();

      transport.send("{\"execute\": \"getfd\"}", pair.mainEnd());
      assertThat(readLine(in)).isEqualTo("{\"execute\": \"getfd\"}");
      FileDescriptor[] received = peer.getReceivedFileDescriptors();
      assertThat(received).hasSize(1);

      transport.send("{\"execute\": \"cont\", \"arguments\": {\"note\": \"é\"}}", null);
      assertThat(readLine(in)).isEqualTo("{\"execute\": \"cont\", \"arguments\": {\"note\": \"é\"}}");
      assertThat(peer.getReceivedFileDescriptors()).isNullOrEmpty();

      OutputStream out = peer.getOutputStream();
      out.write("{\"return\": {\"name\": \"ü\"}}\n{\"event\": \"STOP\"}\n".getBytes(StandardCharsets.UTF_8));
      assertThat(transport.readLine()).isEqualTo("{\"return\": {\"name\": \"ü\"}}");
      assertThat(transport.readLine()).isEqualTo("{\"event\": \"STOP\"}");
      peer.shutdownOutput();
      assertThat(transport.readLine()).isNull();
    }
  }

  @Test
  @DisplayName("close unblocks a thread waiting in readLine")
  void closeUnblocksReader() throws Exception {
    Path path = dir.resolve("qmp.sock");
    try (AFUNIXServerSocket server = AFUNIXServerSocket.bindOn(AFUNIXSocketAddress.of(path))) {
      UnixQmpTransport transport = UnixQmpTransport.connect(path, Duration.ofSeconds(5));
      try (AFUNIXSocket peer = server.accept()) {
        assertThat(peer.isConnected()).isTrue();
        CompletableFuture<String> read =
            CompletableFuture.supplyAsync(
                () -> {
                  try {
                    return transport.readLine();
                  } catch (IOException e) {
                    return "failed: " + e;
                  }
                });
        Thread.sleep(100);
        assertThat(read).isNotDone();

        transport.close();

        assertThat(read.get(5, TimeUnit.SECONDS))
            .satisfiesAnyOf(
                line -> assertThat(line).isNull(), line -> assertThat(line).startsWith("failed"));
      } finally {
        transport.close();
      }
    }
  }

  private static String readLine(InputStream in) throws IOException {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    int b;
    while ((b = in.read()) >= 0 && b != '\n') {
      bytes.write(b);
    }
    return bytes.toString(StandardCharsets.UTF_8);
  }
}
