package io.mpqemu.agent.unix;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/** Open file descriptors as Linux's /proc shows them: this JVM's, for leak checks, and any process's. */
public final class OpenDescriptors {

  private OpenDescriptors() {}

  public static long count() throws IOException {
    try (Stream<Path> fds = Files.list(Path.of("/proc/self/fd"))) {
      return fds.count();
    }
  }

  /** Each open descriptor as "number -> target", to show what a leak is made of. */
  public static Set<String> describe() throws IOException {
    try (Stream<Path> fds = Files.list(Path.of("/proc/self/fd"))) {
      return fds.map(OpenDescriptors::describe).collect(Collectors.toCollection(TreeSet::new));
    }
  }

  private static String describe(Path fd) {
    try {
      return fd.getFileName() + " -> " + Files.readSymbolicLink(fd);
    } catch (IOException e) {
      return fd.getFileName() + " -> (closed)";
    }
  }

  /** Descriptor number to what it refers to ({@code /path}, {@code socket:[n]}, {@code anon_inode:...}), for process {@code pid}. */
  public static Map<Integer, String> of(long pid) throws IOException {
    Map<Integer, String> table = new TreeMap<>();
    try (Stream<Path> fds = Files.list(Path.of("/proc/" + pid + "/fd"))) {
      for (Path fd : fds.toList()) {
        try {
          table.put(Integer.parseInt(fd.getFileName().toString()), Files.readSymbolicLink(fd).toString());
        } catch (IOException closedMeanwhile) {
          // the descriptor Files.list itself used, or one closed since
        }
      }
    }
    return table;
  }

  /** What process {@code pid} holds open, files without the " (deleted)" mark of a replaced one. */
  public static List<String> targets(long pid) throws IOException {
    return of(pid).values().stream().map(t -> t.replace(" (deleted)", "")).toList();
  }
}
