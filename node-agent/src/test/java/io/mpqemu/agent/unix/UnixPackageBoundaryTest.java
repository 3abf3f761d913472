package io.mpqemu.agent.unix;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

class UnixPackageBoundaryTest {

  private static final Path SOURCES = Path.of("src/main/java");
  private static final Path UNIX = SOURCES.resolve("io/mpqemu/agent/unix");

  @Test
  @DisplayName("junixsocket is imported by the io.mpqemu.agent.unix package only")
  void onlyThisPackageImportsJunixsocket() throws IOException {
    assertThat(UNIX).isDirectory();
    List<Path> offenders;
    try (Stream<Path> files = Files.walk(SOURCES)) {
      offenders =
          files
              .filter(p -> p.toString().endsWith(".java"))
              .filter(p -> !p.getParent().equals(UNIX))
              .filter(UnixPackageBoundaryTest::mentionsJunixsocket)
              .toList();
    }
    assertThat(offenders).isEmpty();
  }

  private static boolean mentionsJunixsocket(Path file) {
    try {
      return Files.readString(file).contains("org.newsclub.");
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }
}
