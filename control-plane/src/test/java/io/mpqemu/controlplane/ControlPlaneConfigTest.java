package io.mpqemu.controlplane;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/** Listen addresses are checked at start-up, not when they are bound. */
class ControlPlaneConfigTest {

  private static final String TOO_LONG = "unix:/run/" + "x".repeat(100) + ".sock";

  private static ControlPlaneConfig listening(List<String> listen, String http) {
    ControlPlaneConfig d = ControlPlaneConfig.defaults(Path.of("/var/lib/mpqemu"));
    return new ControlPlaneConfig(d.dataDir(), listen, d.notReadyAfter(), d.lostAfter(), d.reconcileInterval(),
        d.callDeadline(), d.restartBackoffMax(), d.limits(), http);
  }

  @Test
  @DisplayName("a unix: --listen or --http-listen longer than a UNIX socket path may be is refused, naming the limit")
  void unixPathTooLong() {
    assertThat(listening(List.of("unix:/run/mpqemu/cp.sock", "tcp:127.0.0.1:7000"), "").validated()).isNotNull();
    assertThatThrownBy(() -> listening(List.of("tcp:127.0.0.1:7000", TOO_LONG), "").validated())
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageStartingWith("--listen: the UNIX socket path /run/xxx").hasMessageContaining("the limit is 107 bytes");
    assertThatThrownBy(() -> listening(List.of("tcp:127.0.0.1:7000"), TOO_LONG).validated())
        .hasMessageStartingWith("--http-listen: the UNIX socket path").hasMessageContaining("the limit is 107 bytes");
    assertThatThrownBy(() -> listening(List.of("localhost:7000"), "").validated())
        .hasMessage("--listen must be unix:/path or tcp:host:port, not 'localhost:7000'");
  }
}
