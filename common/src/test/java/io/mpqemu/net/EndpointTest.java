package io.mpqemu.net;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

class EndpointTest {

  @Test
  @DisplayName("unix:/path is a UNIX socket at that path")
  void unix() {
    Endpoint e = Endpoint.parse("--server", "unix:/run/mpqemu/cp.sock");
    assertThat(e).isEqualTo(new Endpoint.Unix(Path.of("/run/mpqemu/cp.sock")));
    assertThat(e.socketAddress().path()).isEqualTo("/run/mpqemu/cp.sock");
    assertThat(e).hasToString("unix:/run/mpqemu/cp.sock");
  }

  @Test
  @DisplayName("tcp:host:port and tcp:[v6]:port are TCP addresses; port 0 lets a listener pick")
  void tcp() {
    assertThat(Endpoint.parse("x", "tcp:127.0.0.1:7000")).isEqualTo(new Endpoint.Tcp("127.0.0.1", 7000));
    assertThat(Endpoint.parse("x", "tcp:[::1]:7000")).isEqualTo(new Endpoint.Tcp("::1", 7000)).hasToString("tcp:[::1]:7000");
    assertThat(Endpoint.parse("x", "tcp:localhost:0").socketAddress().port()).isZero();
  }

  @Test
  @DisplayName("anything else is refused with the syntax and what was given")
  void refused() {
    for (String bad : new String[] {"localhost:7000", "unix:", "tcp:7000", "tcp:host:", "tcp:host:x", "tcp:h:65536",
        "tcp::7000", "", "http://h:1"}) {
      assertThatThrownBy(() -> Endpoint.parse("--server", bad)).as(bad)
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessage("--server must be unix:/path or tcp:host:port, not '" + bad + "'");
      assertThat(Endpoint.valid(bad)).as(bad).isFalse();
    }
    assertThatThrownBy(() -> Endpoint.parse("--server", null)).hasMessageContaining("not 'null'");
    assertThatThrownBy(() -> Endpoint.parse("--server", "tcp:" + "h".repeat(10_000) + "\n")).as("quoted cut short")
        .hasMessage("--server must be unix:/path or tcp:host:port, not 'tcp:" + "h".repeat(60) + "…'");
  }

  @Test
  @DisplayName("a UNIX socket path of 107 bytes is taken; 108 is refused with the limit named, in bytes")
  void unixPathLimit() {
    String dir = "/tmp/" + "d".repeat(UnixSocketPaths.MAX_BYTES - "/tmp/".length() - "/a.sock".length());
    assertThat(Endpoint.parse("--listen", "unix:" + dir + "/a.sock")).isInstanceOf(Endpoint.Unix.class);
    assertThatThrownBy(() -> Endpoint.parse("--listen", "unix:" + dir + "/ab.sock"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageStartingWith("--listen: the UNIX socket path " + dir + "/ab.sock is 108 bytes long")
        .hasMessageContaining("the limit is 107 bytes (sun_path is 108 bytes");
    String accented = "/tmp/" + "\u00e9".repeat(52) + ".sock"; // 62 characters, 114 bytes
    assertThatThrownBy(() -> Endpoint.parse("--server", "unix:" + accented)).hasMessageContaining("is 114 bytes long");
  }
}
