package io.mpqemu.agent.unix;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.IOException;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

class SocketPairsTest {

  @Test
  @DisplayName("what is written on one end of a pair is read on the other, both ways")
  void connected() throws Exception {
    try (DevicePair pair = SocketPairs.open()) {
      write(pair.mainSocket(), "ping");
      assertThat(read(pair.remoteSocket(), 4)).isEqualTo("ping");
      write(pair.remoteSocket(), "pong");
      assertThat(read(pair.mainSocket(), 4)).isEqualTo("pong");
    }
  }

  @Test
  @DisplayName("a child given the remote end as stdin reads what is written on the main end")
  void childReadsRemoteEnd() throws Exception {
    try (DevicePair pair = SocketPairs.open()) {
      Process cat = new ProcessBuilder("cat").redirectInput(pair.remoteEndAsStdin()).start();
      try (BufferedReader out =
          new BufferedReader(new InputStreamReader(cat.getInputStream(), StandardCharsets.UTF_8))) {
        write(pair.mainSocket(), "hello from the agent\n");
        assertThat(out.readLine()).isEqualTo("hello from the agent");
        write(pair.mainSocket(), "still connected\n");
        assertThat(out.readLine()).isEqualTo("still connected");
      } finally {
        cat.destroyForcibly().waitFor();
      }
    }
  }

  @Test
  @DisplayName("closing the pair ends the child's input although the child holds its own copy")
  void closeIsEofForTheChild() throws Exception {
    DevicePair pair = SocketPairs.open();
    Process cat = new ProcessBuilder("cat").redirectInput(pair.remoteEndAsStdin()).start();
    try {
      write(pair.mainSocket(), "x\n");
      assertThat(cat.getInputStream().read()).isEqualTo('x');
      assertThat(cat.waitFor(300, TimeUnit.MILLISECONDS)).as("cat still running").isFalse();

      pair.close();
      pair.close();

      assertThat(cat.waitFor(5, TimeUnit.SECONDS)).as("cat saw EOF and exited").isTrue();
      assertThat(cat.exitValue()).isZero();
    } finally {
      cat.destroyForcibly().waitFor();
    }
  }

  @Test
  @DisplayName("opening and closing pairs leaves no descriptor open")
  void noDescriptorLeft() throws Exception {
    try (DevicePair warmUp = SocketPairs.open()) {
      warmUp.mainEnd();
    }
    long before = OpenDescriptors.count();
    for (int i = 0; i < 50; i++) {
      DevicePair pair = SocketPairs.open();
      pair.remoteEndAsStdin();
      pair.close();
    }
    assertThat(OpenDescriptors.count()).isLessThanOrEqualTo(before);
  }

  private static void write(Socket socket, String text) throws IOException {
    socket.getOutputStream().write(text.getBytes(StandardCharsets.UTF_8));
  }

  private static String read(Socket socket, int bytes) throws IOException {
    return new String(socket.getInputStream().readNBytes(bytes), StandardCharsets.UTF_8);
  }
}
