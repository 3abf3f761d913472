package io.mpqemu.agent.process;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Predicate;

/**
 * Finds processes through /proc: by the marker every QEMU process of a VM carries in its environment
 * ({@link ProcessMarker}), so it finds them all, even one whose pid the agent had no time to record
 * before it died, and even one that sees no file of the agent's; or by an argument of their command
 * line. Blocking.
 */
public final class ProcessScanner {

  private final Path proc;

  public ProcessScanner() {
    this(Path.of("/proc"));
  }

  ProcessScanner(Path proc) {
    this.proc = proc;
  }

  /** Pids of processes whose environment holds every entry of {@code marker} ("K=V" strings). */
  public List<Long> withMarker(List<String> marker) {
    return matching(entry -> hasAll(entry.resolve("environ"), marker));
  }

  /**
   * Pids of every process of the agents whose state directories lie at or under {@code dir}: by their
   * marker, or by an argument naming a file under {@code dir} (what an earlier agent's processes had).
   */
  public List<Long> under(Path dir) {
    String marked = ProcessMarker.AGENT + dir;
    return matching(entry -> hasEntryStartingWith(entry.resolve("environ"), marked)
        || hasArgumentStartingWith(entry.resolve("cmdline"), dir + "/"));
  }

  /** Pids of processes one of whose arguments starts with {@code prefix}. */
  public List<Long> withArgumentStartingWith(String prefix) {
    return matching(entry -> hasArgumentStartingWith(entry.resolve("cmdline"), prefix));
  }

  private List<Long> matching(Predicate<Path> test) {
    List<Long> found = new ArrayList<>();
    long self = ProcessHandle.current().pid();
    try (DirectoryStream<Path> entries = Files.newDirectoryStream(proc, "[0-9]*")) {
      for (Path entry : entries) {
        long pid = Long.parseLong(entry.getFileName().toString());
        if (pid != self && test.test(entry)) {
          found.add(pid);
        }
      }
    } catch (IOException e) {
      throw new IllegalStateException("cannot list " + proc + ": " + e.getMessage(), e);
    }
    return found;
  }

  private static boolean hasEntryStartingWith(Path environ, String prefix) {
    byte[] raw;
    try {
      raw = Files.readAllBytes(environ);
    } catch (IOException e) {
      return false;
    }
    for (String entry : new String(raw, StandardCharsets.UTF_8).split("\0")) {
      if (entry.equals(prefix) || entry.startsWith(prefix + "/")) {
        return true;
      }
    }
    return false;
  }

  private static boolean hasAll(Path environ, List<String> entries) {
    byte[] raw;
    try {
      raw = Files.readAllBytes(environ);
    } catch (IOException e) {
      return false; // exited meanwhile, or not ours to read
    }
    List<String> env = List.of(new String(raw, StandardCharsets.UTF_8).split("\0"));
    return env.containsAll(entries);
  }

  private static boolean hasArgumentStartingWith(Path cmdline, String prefix) {
    byte[] raw;
    try {
      raw = Files.readAllBytes(cmdline);
    } catch (NoSuchFileException e) {
      return false;
    } catch (IOException e) {
      return false; // exited meanwhile, or not ours to read
    }
    for (String arg : new String(raw, StandardCharsets.UTF_8).split("\0")) {
      if (arg.startsWith(prefix)) {
        return true;
      }
    }
    return false;
  }
}
