package io.mpqemu.controlplane.store;

import static org.assertj.core.api.Assertions.assertThat;

import io.mpqemu.v1.VmEvent;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.LongStream;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SqliteStoreDurabilityTest {

  private static final int COMMITS = 300;

  @TempDir
  Path dir;

  @Test
  @DisplayName("every commit that returned is there after its process is killed with SIGKILL; while it ran, no other process could open the store")
  void survivesSigkill() throws Exception {
    StoreException refusedWhileHeld = null;
    Path file = dir.resolve("store.db");
    Path stderr = dir.resolve("child.stderr");
    Path java = Path.of(System.getProperty("java.home"), "bin", "java");
    Process child = new ProcessBuilder(java.toString(), "-cp", testClassPath(),
        SqliteCommitThenWait.class.getName(), file.toString(), String.valueOf(COMMITS))
        .redirectError(stderr.toFile())
        .start();
    try {
      BufferedReader out = new BufferedReader(new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8));
      String line = CompletableFuture.supplyAsync(() -> committedLine(out)).get(60, TimeUnit.SECONDS);
      assertThat(line).as("the child's output; its stderr: %s", Files.exists(stderr) ? Files.readString(stderr) : "")
          .isEqualTo("committed " + COMMITS);
      try (SqliteStore second = SqliteStore.open(file)) {
        refusedWhileHeld = null;
      } catch (StoreException e) {
        refusedWhileHeld = e;
      }
    } finally {
      child.destroyForcibly(); // SIGKILL on Linux: no shutdown hook, no close, no checkpoint
      assertThat(child.waitFor(30, TimeUnit.SECONDS)).isTrue();
    }
    assertThat(child.exitValue()).as("killed by SIGKILL").isEqualTo(128 + 9);
    assertThat(refusedWhileHeld).as("a second process cannot open a store another one holds").isNotNull();
    assertThat(refusedWhileHeld.kind()).isEqualTo(StoreException.Kind.UNAVAILABLE);
    assertThat(refusedWhileHeld.getMessage()).contains("Another control plane has the store");
    assertThat(dir.resolve("store.db-wal")).as("the WAL was not checkpointed away by a clean close").exists();

    try (SqliteStore store = SqliteStore.open(file)) {
      assertThat(store.lastSeq()).isEqualTo(COMMITS);
      assertThat(store.events(0, "vm-1", COMMITS + 10)).extracting(VmEvent::getSeq)
          .containsExactlyElementsOf(LongStream.rangeClosed(1, COMMITS).boxed().toList());
      assertThat(store.vm("vm-1")).isPresent();
      assertThat(store.vmIdForRequest("req-1")).contains("vm-1");
    }
  }

  /** Surefire runs tests from a manifest-only jar; the real class path is in its own property. */
  private static String testClassPath() {
    return System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
  }

  /** The child's "committed N" line, skipping whatever else (logging) it prints first; null at its end. */
  private static String committedLine(BufferedReader reader) {
    try {
      for (String line = reader.readLine(); line != null; line = reader.readLine()) {
        if (line.startsWith("committed ")) {
          return line;
        }
      }
      return null;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
