package io.mpqemu.agent.sys;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.mpqemu.agent.unix.OpenDescriptors;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PosixSpawnTest {

  @TempDir
  Path dir;

  @Test
  @DisplayName("a spawned child holds exactly the descriptors it was given, at their numbers, in a session of its own")
  void exactlyTheGivenDescriptors() throws Exception {
    Path log = dir.resolve("child.log");
    Path extra = Files.writeString(dir.resolve("extra"), "x");
    try (Fd stdin = Fd.devNull(); Fd out = Fd.appendTo(log); Fd three = Fd.open(extra, 0, 0)) {
      int pid = PosixSpawn.spawn(List.of("sleep", "60"), List.of("PATH=/usr/bin:/bin"),
          Map.of(0, stdin, 1, out, 2, out, 3, three), true);
      ChildExit exit = new ChildExit(pid);
      CompletableFuture<Integer> status = CompletableFuture.supplyAsync(exit::awaitAndReap);
      try {
        assertThat(OpenDescriptors.of(pid)).containsExactlyEntriesOf(new TreeMap<>(Map.of(
            0, "/dev/null", 1, log.toString(), 2, log.toString(), 3, extra.toString())));
        String[] stat = Files.readString(Path.of("/proc/" + pid + "/stat")).replaceAll(".*\\) ", "").split(" ");
        assertThat(stat[3]).as("session id").isEqualTo(String.valueOf(pid));
      } finally {
        assertThat(exit.signal(9)).isTrue();
      }
      int st = status.get(10, TimeUnit.SECONDS);
      assertThat(ChildExit.termSignal(st)).isEqualTo(9);
      assertThat(Files.exists(Path.of("/proc/" + pid))).as("reaped, not a zombie").isFalse();
      assertThat(exit.signal(9)).as("a reaped pid is never signalled").isFalse();
    }
  }

  @Test
  @DisplayName("descriptor numbers with a gap are refused: a descriptor of the agent could survive in it")
  void gapsRefused() throws Exception {
    try (Fd in = Fd.devNull()) {
      assertThatThrownBy(() -> PosixSpawn.spawn(List.of("true"), List.of(), Map.of(0, in, 1, in, 2, in, 4, in), false))
          .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("3 is missing");
    }
  }

  @Test
  @DisplayName("a child's exit code is reported once it is reaped")
  void exitCode() throws Exception {
    try (Fd stdin = Fd.devNull()) {
      int pid = PosixSpawn.spawn(List.of("sh", "-c", "exit 7"), List.of("PATH=/usr/bin:/bin"), Map.of(0, stdin), false);
      int st = new ChildExit(pid).awaitAndReap();
      assertThat(ChildExit.exitCode(st)).isEqualTo(7);
      assertThat(ChildExit.termSignal(st)).isZero();
    }
  }

  @Test
  @DisplayName("a program that cannot be started fails the spawn and leaves no child and no descriptor behind")
  void failedSpawnLeavesNothing() throws Exception {
    long self = ProcessHandle.current().pid();
    Map<Integer, String> fdsBefore = descriptors(self);
    long childrenBefore = ProcessHandle.current().children().count();
    try (Fd stdin = Fd.devNull()) {
      assertThatThrownBy(() -> PosixSpawn.spawn(List.of("/nonexistent/qemu"), List.of(), Map.of(0, stdin), true))
          .isInstanceOf(IOException.class).hasMessageContaining("cannot start /nonexistent/qemu")
          .hasMessageContaining("No such file");
    }
    assertThat(ProcessHandle.current().children().count()).isEqualTo(childrenBefore);
    // a leak is a descriptor open now that was not before; the JVM's other threads may close theirs meanwhile
    // (a count once went from 125 to 124 when something else closed one), which is no leak of the spawn's
    Map<Integer, String> fdsAfter = descriptors(self);
    fdsAfter.entrySet().removeAll(fdsBefore.entrySet());
    assertThat(fdsAfter).as("descriptors the failed spawn left open").isEmpty();
  }

  /** This JVM's descriptors, without the one that lists them. */
  private static Map<Integer, String> descriptors(long self) throws IOException {
    Map<Integer, String> fds = new java.util.TreeMap<>(OpenDescriptors.of(self));
    fds.values().removeIf(target -> target.equals("/proc/" + self + "/fd"));
    return fds;
  }
}
