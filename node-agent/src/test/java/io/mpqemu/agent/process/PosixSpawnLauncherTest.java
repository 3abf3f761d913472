package io.mpqemu.agent.process;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.mpqemu.agent.sys.Fd;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PosixSpawnLauncherTest {

  @TempDir
  Path dir;

  private final PosixSpawnLauncher launcher = new PosixSpawnLauncher(java.nio.file.Path.of("/usr/bin/qemu-system-x86_64"));

  @Test
  @DisplayName("a killed process reports SIGKILL, as a JDK child did, and is reaped")
  void killed() throws Exception {
    try (Fd in = Fd.devNull(); Fd log = Fd.appendTo(dir.resolve("log"))) {
      RunningProcess p = launcher.start(List.of("sleep", "60"), Map.of(0, in, 1, log, 2, log), List.of());
      assertThat(p.isAlive()).isTrue();
      assertThat(p.startedAt()).isEqualTo(ProcessHandle.of(p.pid()).orElseThrow().info().startInstant().orElseThrow());
      p.kill();
      ExitStatus status = p.onExit().get(10, TimeUnit.SECONDS);
      assertThat(status.describe()).isEqualTo("killed by SIGKILL");
      assertThat(status.code()).contains(137);
      assertThat(p.isAlive()).isFalse();
      assertThat(Files.exists(Path.of("/proc/" + p.pid()))).as("no zombie left").isFalse();
    }
  }

  @Test
  @DisplayName("a process's output goes to the log it was given, and its exit status is reported")
  void exitStatusAndLog() throws Exception {
    Path logFile = dir.resolve("log");
    try (Fd in = Fd.devNull(); Fd log = Fd.appendTo(logFile)) {
      RunningProcess p = launcher.start(List.of("sh", "-c", "echo out; echo err >&2; exit 3"), Map.of(0, in, 1, log, 2, log), List.of());
      assertThat(p.onExit().get(10, TimeUnit.SECONDS).describe()).isEqualTo("exit status 3");
    }
    assertThat(Files.readString(logFile)).isEqualTo("out\nerr\n");
  }

  @Test
  @DisplayName("a process's environment is PATH and its marker, and the scanner finds it by the marker")
  void marker() throws Exception {
    List<String> marker = ProcessMarker.process(dir, "vm-1", "lsi0");
    try (Fd in = Fd.devNull(); Fd log = Fd.appendTo(dir.resolve("log"))) {
      RunningProcess p = launcher.start(List.of("sleep", "60"), Map.of(0, in, 1, log, 2, log), marker);
      try {
        String environ = Files.readString(Path.of("/proc/" + p.pid() + "/environ"));
        assertThat(environ.split("\0")).containsExactly(PosixSpawnLauncher.PATH, "MPQEMU_AGENT=" + dir,
            "MPQEMU_VM=vm-1", "MPQEMU_PROCESS=lsi0");
        ProcessScanner scanner = new ProcessScanner();
        assertThat(scanner.withMarker(ProcessMarker.vm(dir, "vm-1"))).containsExactly(p.pid());
        assertThat(scanner.withMarker(ProcessMarker.agent(dir))).containsExactly(p.pid());
        assertThat(scanner.withMarker(ProcessMarker.vm(dir, "vm-2"))).isEmpty();
        assertThat(scanner.withMarker(ProcessMarker.agent(dir.resolve("other")))).isEmpty();
      } finally {
        p.kill();
        p.onExit().get(10, TimeUnit.SECONDS);
      }
    }
  }

  @Test
  @DisplayName("stdin, stdout and stderr must be given")
  void standardDescriptorsRequired() throws Exception {
    try (Fd in = Fd.devNull()) {
      assertThatThrownBy(() -> launcher.start(List.of("true"), Map.of(0, in), List.of()))
          .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("descriptor 1 must be given");
    }
  }
}
