package io.mpqemu.agent.state;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

@DisplayName("The console log stays bounded and its tail spans the rotation")
class ConsoleLogTest {

  @TempDir
  Path dir;

  private void append(VmPaths paths, String text) throws Exception {
    Files.writeString(paths.consoleLog(), text, StandardCharsets.US_ASCII, StandardOpenOption.CREATE, StandardOpenOption.APPEND);
  }

  @Test
  @DisplayName("a log over its bound moves to console.log.1 and starts again empty; a smaller one stays")
  void rotates() throws Exception {
    VmPaths paths = new VmPaths(dir);
    append(paths, "a".repeat(100));

    assertThat(ConsoleLog.rotateIfLarger(paths, 100)).isFalse();
    append(paths, "b");
    assertThat(ConsoleLog.rotateIfLarger(paths, 100)).isTrue();

    assertThat(Files.size(paths.consoleLog())).isZero();
    assertThat(Files.readString(paths.consoleLogPrevious())).isEqualTo("a".repeat(100) + "b");
  }

  @Test
  @DisplayName("the tail joins the previous part and the current one, and says when it left older output out")
  void tailAcrossRotation() throws Exception {
    VmPaths paths = new VmPaths(dir);
    append(paths, "first line\n");
    ConsoleLog.rotateIfLarger(paths, 4);
    append(paths, "second line\n");

    ConsoleLog.Tail all = ConsoleLog.tail(paths, 1000);
    ConsoleLog.Tail some = ConsoleLog.tail(paths, 15);

    assertThat(new String(all.data(), StandardCharsets.US_ASCII)).isEqualTo("first line\nsecond line\n");
    assertThat(all.truncated()).isFalse();
    assertThat(new String(some.data(), StandardCharsets.US_ASCII)).isEqualTo("ne\nsecond line\n");
    assertThat(some.truncated()).isTrue();
  }

  @Test
  @DisplayName("a VM that printed nothing yet has an empty console")
  void empty() throws Exception {
    ConsoleLog.Tail tail = ConsoleLog.tail(new VmPaths(dir), 100);

    assertThat(tail.data()).isEmpty();
    assertThat(tail.truncated()).isFalse();
  }

  @Test
  @DisplayName("a reader follows the log from a position, across a rotation, reading each byte once")
  void sinceFollowsRotation() throws Exception {
    VmPaths paths = new VmPaths(dir);
    append(paths, "old launch\n");
    long start = ConsoleLog.end(paths);
    append(paths, "boot ");
    ConsoleLog.Since first = ConsoleLog.since(paths, start, 1024);
    assertThat(new String(first.data(), StandardCharsets.US_ASCII)).isEqualTo("boot ");

    append(paths, "more ");
    ConsoleLog.rotateIfLarger(paths, 4);
    append(paths, "login: ");
    ConsoleLog.Since second = ConsoleLog.since(paths, first.next(), 1024);
    assertThat(new String(second.data(), StandardCharsets.US_ASCII)).isEqualTo("more login: ");
    assertThat(ConsoleLog.since(paths, second.next(), 1024).data()).isEmpty();
  }
}
