package io.mpqemu.agent.vm;

import io.mpqemu.agent.state.BoundedLog;
import io.mpqemu.agent.state.VmPaths;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;

/** The last words of QEMU processes, from their logs, for error messages. Blocking. */
final class ProcessLogs {

  private static final int MAX_CHARS = 600;
  private static final int TAIL_BYTES = 8192;

  private ProcessLogs() {}

  static String lastLines(VmPaths paths, Collection<String> processNames, int linesEach) throws IOException {
    List<String> said = new ArrayList<>();
    for (String name : processNames) {
      // the end of the log only: a process may have written megabytes before it died
      String tail = new String(BoundedLog.readTail(paths.processLog(name), TAIL_BYTES), StandardCharsets.UTF_8);
      List<String> lines = List.of(tail.split("\n")).stream().map(String::strip).filter(l -> !l.isEmpty()).toList();
      for (String line : lines.subList(Math.max(0, lines.size() - linesEach), lines.size())) {
        said.add(name + ": " + line);
      }
    }
    String all = String.join(" | ", said);
    return all.length() > MAX_CHARS ? all.substring(all.length() - MAX_CHARS) : all;
  }
}
