package io.mpqemu.agent;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.mpqemu.agent.confine.ConfinementSettings;
import io.mpqemu.spec.NodeLimits;
import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/** What the agent refuses at start-up rather than at the first launch. */
class AgentConfigTest {

  /** {@code <stateDir>/vms/<36-character UUID>/qmp.sock} is 107 bytes for a state dir of this length (57). */
  private static final int LONGEST_STATE_DIR = 107 - "/vms/".length() - 36 - "/qmp.sock".length();

  private static AgentConfig config(Path stateDir, String listen, String httpListen) {
    return new AgentConfig("node-1", List.of(listen), stateDir, Path.of("/var/lib/mpqemu/images"),
        Path.of("qemu-system-x86_64"), "auto", NodeLimits.defaults(), 4096, 64, Map.of(), Duration.ofSeconds(30),
        Duration.ofSeconds(5), 1024 * 1024, "", Duration.ofSeconds(3), httpListen, ConfinementSettings.DEFAULT,
        io.mpqemu.access.AccessSettings.defaults(), io.mpqemu.agent.net.NodeNetworks.defaults());
  }

  private static Path stateDir(int length) {
    return Path.of("/s" + "x".repeat(length - 2));
  }

  @Test
  @DisplayName("a state dir under which a UUID-named QMP socket fits in sun_path is taken; one byte more is refused with the limit")
  void stateDirLength() {
    AgentConfig longest = config(stateDir(LONGEST_STATE_DIR), "tcp:127.0.0.1:7070", "").validated();
    assertThat(longest.maxVmIdLength()).as("ids longer than a UUID are refused at launch").isEqualTo(36);
    assertThat(config(stateDir(LONGEST_STATE_DIR - 27), "tcp:127.0.0.1:7070", "").maxVmIdLength()).isEqualTo(63);
    assertThat(config(Path.of("/var/lib/mpqemu/agent"), "tcp:127.0.0.1:7070", "").maxVmIdLength()).isEqualTo(63);

    Path tooLong = stateDir(LONGEST_STATE_DIR + 1);
    assertThatThrownBy(() -> config(tooLong, "tcp:127.0.0.1:7070", "").validated())
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("state dir " + tooLong + " is too long for the QMP socket of a VM with a 36-character id")
        .hasMessageContaining(tooLong + "/vms/" + "x".repeat(36) + "/qmp.sock is 108 bytes long")
        .hasMessageContaining("the limit is 107 bytes (sun_path is 108 bytes");
  }

  @Test
  @DisplayName("unix: listen addresses, gRPC and HTTP, longer than sun_path allows are refused")
  void listenLength() {
    String longSocket = "unix:/run/" + "x".repeat(100) + ".sock";
    assertThatThrownBy(() -> config(Path.of("/var/lib/mpqemu/agent"), longSocket, "").validated())
        .hasMessageStartingWith("listen address: the UNIX socket path").hasMessageContaining("the limit is 107 bytes");
    assertThatThrownBy(() -> config(Path.of("/var/lib/mpqemu/agent"), "tcp:127.0.0.1:7070", longSocket).validated())
        .hasMessageStartingWith("HTTP listen address: the UNIX socket path").hasMessageContaining("the limit is 107 bytes");
  }

  @Test
  @DisplayName("node-agent serve --state-dir <too long> exits with 2 before it starts, naming the limit")
  void serveRefusesLongStateDir() throws Exception {
    Path tooLong = stateDir(LONGEST_STATE_DIR + 1);
    Process serve = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-cp", System.getProperty("java.class.path"), NodeAgentMain.class.getName(), "serve",
        "--state-dir", tooLong.toString(), "--image-root", "/nonexistent-images",
        "--listen", "unix:" + new File("/tmp/mpqemu-never-bound.sock"))
        .redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
    assertThat(serve.waitFor(60, TimeUnit.SECONDS)).isTrue();
    String err = new String(serve.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);

    assertThat(serve.exitValue()).as(err).isEqualTo(2);
    assertThat(err).contains("node-agent: state dir " + tooLong + " is too long")
        .contains("the limit is 107 bytes (sun_path is 108 bytes");
    assertThat(tooLong).doesNotExist();
  }
}
