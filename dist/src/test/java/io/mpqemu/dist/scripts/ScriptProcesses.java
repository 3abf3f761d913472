package io.mpqemu.dist.scripts;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;

/** What the script tests look for and clean up: processes by a string in their command line or environment. */
final class ScriptProcesses {

  private ScriptProcesses() {}

  /** The repository's root (surefire runs in the module's directory). */
  static Path repoRoot() {
    Path dir = Path.of(System.getProperty("user.dir")).toAbsolutePath();
    for (Path p = dir; p != null; p = p.getParent()) {
      if (Files.isRegularFile(p.resolve("deploy/demo.sh"))) {
        return p;
      }
    }
    throw new AssertionError("no deploy/demo.sh above " + dir);
  }

  /**
   * Every process but this one whose command line or environment contains {@code text}: the demo's
   * JVMs name the data directory on their command lines, QEMU processes carry it in their marker
   * (MPQEMU_AGENT=...), and script, the shells and tee inherit MPQEMU_DATA.
   */
  static List<String> naming(String text) {
    byte[] needle = text.getBytes(StandardCharsets.UTF_8);
    long self = ProcessHandle.current().pid();
    List<String> found = new ArrayList<>();
    try (Stream<Path> procs = Files.list(Path.of("/proc"))) {
      for (Path p : (Iterable<Path>) procs::iterator) {
        String name = p.getFileName().toString();
        if (!name.chars().allMatch(Character::isDigit) || Long.parseLong(name) == self) {
          continue;
        }
        byte[] cmdline = read(p.resolve("cmdline"));
        if (contains(cmdline, needle) || contains(read(p.resolve("environ")), needle)) {
          found.add(name + " " + new String(cmdline, StandardCharsets.UTF_8).replace('\0', ' ').strip());
        }
      }
    } catch (IOException e) {
      throw new AssertionError(e);
    }
    return found;
  }

  /** SIGKILL to every process {@link #naming} finds, until none is left (or 30 s). */
  static void killNaming(String text) throws InterruptedException {
    for (int i = 0; i < 150; i++) {
      List<String> left = naming(text);
      if (left.isEmpty()) {
        return;
      }
      for (String line : left) {
        ProcessHandle.of(Long.parseLong(line.substring(0, line.indexOf(' ')))).ifPresent(ProcessHandle::destroyForcibly);
      }
      Thread.sleep(200);
    }
  }

  static void deleteTree(Path dir) throws IOException {
    if (dir == null || !Files.exists(dir, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
      return;
    }
    try (Stream<Path> all = Files.walk(dir)) {
      for (Path p : (Iterable<Path>) all.sorted(Comparator.reverseOrder())::iterator) {
        Files.deleteIfExists(p);
      }
    }
  }

  private static byte[] read(Path file) {
    try {
      return Files.readAllBytes(file);
    } catch (IOException | SecurityException e) {
      return new byte[0]; // gone meanwhile, or a kernel thread
    }
  }

  private static boolean contains(byte[] hay, byte[] needle) {
    outer:
    for (int i = 0; i + needle.length <= hay.length; i++) {
      for (int j = 0; j < needle.length; j++) {
        if (hay[i + j] != needle[j]) {
          continue outer;
        }
      }
      return true;
    }
    return false;
  }
}
