package io.mpqemu.agent.unix;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/** This JVM's open file descriptors (Linux /proc/self/fd), for leak checks. */
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
}
