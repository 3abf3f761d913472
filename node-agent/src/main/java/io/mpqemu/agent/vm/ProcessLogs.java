package io.mpqemu.agent.vm;

import io.mpqemu.agent.state.VmPaths;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Deque;
import java.util.List;
import java.util.stream.Stream;

/** The last words of QEMU processes, from their logs, for error messages. Blocking. */
final class ProcessLogs {

  private static final int MAX_CHARS = 600;

  private ProcessLogs() {}

  static String lastLines(VmPaths paths, Collection<String> processNames, int linesEach) throws IOException {
    List<String> said = new ArrayList<>();
    for (String name : processNames) {
      // streamed, keeping the last lines only: a log holds up to the console log's bound
      Deque<String> lines = new ArrayDeque<>();
      if (Files.exists(paths.processLog(name))) {
        try (Stream<String> all = Files.lines(paths.processLog(name), StandardCharsets.UTF_8)) {
          all.map(String::strip).filter(l -> !l.isEmpty()).forEach(l -> {
            lines.addLast(l.length() > MAX_CHARS ? l.substring(0, MAX_CHARS) : l);
            if (lines.size() > linesEach) {
              lines.removeFirst();
            }
          });
        }
      }
      for (String line : lines) {
        said.add(name + ": " + line);
      }
    }
    String all = String.join(" | ", said);
    return all.length() > MAX_CHARS ? all.substring(all.length() - MAX_CHARS) : all;
  }
}
