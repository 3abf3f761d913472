package io.mpqemu.agent.sys;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.net.ConnectException;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Map;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

@DisplayName("The agent makes listening UNIX sockets for the processes that serve them")
class UnixListenerTest {

  private static final int CLOSE_ON_EXEC = 02000000;

  @TempDir
  Path dir;

  @Test
  @DisplayName("the socket is bound at the path, 0600, the agent's, close-on-exec, and takes connections before anyone accepts")
  void boundAndListening() throws Exception {
    Path path = dir.resolve("qmp.sock");

    try (Fd socket = Fd.listeningUnixSocket(path)) {
      Map<String, Object> attributes = Files.readAttributes(path, "unix:mode,uid", LinkOption.NOFOLLOW_LINKS);
      assertThat(Integer.toOctalString((Integer) attributes.get("mode"))).isEqualTo("140600");
      assertThat(Files.getPosixFilePermissions(path)).isEqualTo(PosixFilePermissions.fromString("rw-------"));
      assertThat(attributes.get("uid")).isEqualTo(Files.readAttributes(dir, "unix:uid").get("uid"));
      assertThat(socket.describe()).startsWith("socket:");
      assertThat(flags(socket) & CLOSE_ON_EXEC).as("close-on-exec").isNotZero();
      try (SocketChannel client = SocketChannel.open(UnixDomainSocketAddress.of(path))) {
        assertThat(client.isConnected()).isTrue();
      }
    }
    assertThatThrownBy(() -> SocketChannel.open(UnixDomainSocketAddress.of(path)))
        .as("once the last holder closes it, nobody listens").isInstanceOf(ConnectException.class);
  }

  @Test
  @DisplayName("nothing at the path is removed or replaced: binding over an existing file fails and leaves it")
  void existingPathRefused() throws Exception {
    Path path = Files.writeString(dir.resolve("qmp.sock"), "not a socket");

    assertThatThrownBy(() -> Fd.listeningUnixSocket(path))
        .isInstanceOf(SysException.class).hasMessageContaining("cannot bind a UNIX socket at " + path);
    assertThat(Files.readString(path)).isEqualTo("not a socket");
  }

  @Test
  @DisplayName("a path longer than sockaddr_un holds is refused before any call")
  void tooLong() {
    Path path = dir.resolve("x".repeat(120));

    assertThatThrownBy(() -> Fd.listeningUnixSocket(path))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("1 to 107 bytes");
    assertThat(UnixListener.sockaddr(Path.of("/" + "y".repeat(106)))).hasSize(UnixListener.SOCKADDR_UN_SIZE);
  }

  private static int flags(Fd fd) throws IOException {
    for (String line : Files.readAllLines(Path.of("/proc/self/fdinfo/" + fd.number()))) {
      if (line.startsWith("flags:")) {
        return Integer.parseInt(line.substring("flags:".length()).trim(), 8);
      }
    }
    throw new AssertionError("no flags in fdinfo of " + fd);
  }
}
