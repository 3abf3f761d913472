package io.mpqemu.agent.state;

import static org.assertj.core.api.Assertions.assertThat;

import io.mpqemu.agent.sys.Fd;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class BoundedLogTest {

  @TempDir
  Path dir;

  @Test
  void aLogOverItsBoundMovesToDotOneAndStartsEmpty() throws Exception {
    Path log = dir.resolve("dev-lsi0.log");
    try (Fd writer = Fd.appendTo(log)) {
      Files.writeString(Path.of("/proc/self/fd/" + writer.number()), "first part of the log\n", StandardCharsets.UTF_8,
          java.nio.file.StandardOpenOption.APPEND);
      assertThat(BoundedLog.rotateIfLarger(log, 100)).as("under the bound").isFalse();
      assertThat(BoundedLog.rotateIfLarger(log, 10)).as("over the bound").isTrue();
      assertThat(Files.readString(BoundedLog.previous(log))).isEqualTo("first part of the log\n");
      assertThat(Files.size(log)).isZero();
    }
  }

  @Test
  void readTailReadsOnlyTheEnd() throws Exception {
    Path log = dir.resolve("main.log");
    Files.writeString(log, "x".repeat(1_000_000) + "\nlast words\n");
    assertThat(new String(BoundedLog.readTail(log, 12), StandardCharsets.UTF_8)).isEqualTo("\nlast words\n");
    assertThat(BoundedLog.readTail(dir.resolve("missing.log"), 12)).isEmpty();
  }
}
