package io.mpqemu.agent.state;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

@DisplayName("The leader epoch file keeps the highest epoch beside the VM state, and refuses to guess at a bad one")
class LeaderEpochFileTest {

  @TempDir
  Path root;

  @Test
  @DisplayName("no file means no epoch seen: 0")
  void missingIsZero() throws Exception {
    assertThat(new LeaderEpochFile(root).read()).isZero();
  }

  @Test
  @DisplayName("a written epoch reads back, from <stateDir>/leader-epoch as one decimal line, with no temporary file left")
  void roundTrip() throws Exception {
    LeaderEpochFile file = new LeaderEpochFile(root);
    file.write(5);
    file.write(Long.MAX_VALUE);

    assertThat(new LeaderEpochFile(root).read()).isEqualTo(Long.MAX_VALUE);
    assertThat(file.path()).isEqualTo(root.resolve("leader-epoch"));
    assertThat(Files.readString(file.path())).isEqualTo(Long.MAX_VALUE + "\n");
    try (Stream<Path> files = Files.list(root)) {
      assertThat(files).containsExactly(root.resolve("leader-epoch"));
    }
  }

  @Test
  @DisplayName("an epoch an operator wrote by hand, without a newline, reads too")
  void handWritten() throws Exception {
    Files.writeString(root.resolve("leader-epoch"), "12");

    assertThat(new LeaderEpochFile(root).read()).isEqualTo(12);
  }

  @ParameterizedTest(name = "content [{0}]")
  @ValueSource(strings = {"", "\n", "abc", "-1", "+5", " 5", "5 6", "5\n\n", "0x10", "9223372036854775808",
      "99999999999999999999"})
  @DisplayName("a file that does not hold one epoch stops the agent with a message that names the file and what to do")
  void corrupt(String content) throws Exception {
    Files.writeString(root.resolve("leader-epoch"), content);

    assertThatThrownBy(() -> new LeaderEpochFile(root).read())
        .isInstanceOf(LeaderEpochFile.CorruptEpochFileException.class)
        .hasMessageStartingWith("the leader epoch file " + root.resolve("leader-epoch") + " holds '")
        .hasMessageContaining("not an epoch").hasMessageContaining("the agent does not start")
        .hasMessageContaining("Write the current epoch").hasMessageContaining("README");
  }

  @Test
  @DisplayName("bytes that are not text are reported as such, not quoted")
  void binary() throws Exception {
    Files.write(root.resolve("leader-epoch"), new byte[] {(byte) 0xff, (byte) 0xfe, 0});

    assertThatThrownBy(() -> new LeaderEpochFile(root).read())
        .isInstanceOf(LeaderEpochFile.CorruptEpochFileException.class)
        .hasMessageContaining("holds bytes that are not ASCII");
  }

  @Test
  @DisplayName("a long corrupt file is quoted cut short, on one line")
  void longCorrupt() throws Exception {
    Files.writeString(root.resolve("leader-epoch"), "x".repeat(10_000) + "\nsecond line", StandardCharsets.US_ASCII);

    assertThatThrownBy(() -> new LeaderEpochFile(root).read())
        .satisfies(e -> assertThat(e.getMessage()).doesNotContain("\n").hasSizeLessThan(600));
  }
}
