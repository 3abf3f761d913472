package io.mpqemu.agent.console;

import io.mpqemu.spec.ReadyPattern;
import java.nio.charset.StandardCharsets;

/**
 * Searches a console's output, line by line, for a spec's ready pattern. The line being written counts
 * too (a shell prompt ends without a newline); carriage returns are dropped; a line longer than
 * {@link #MAX_LINE} keeps its end. Pure.
 */
final class ReadyWatch {

  static final int MAX_LINE = 4096;

  private final ReadyPattern pattern;
  private final StringBuilder line = new StringBuilder();
  private boolean matched;

  ReadyWatch(ReadyPattern pattern) {
    this.pattern = pattern;
  }

  /** Feeds output; true the first time the pattern is found, false before and after. */
  boolean feed(byte[] data) {
    if (matched) {
      return false;
    }
    // ISO-8859-1: one char per byte, so a UTF-8 sequence cut between two reads still lines up
    String text = new String(data, StandardCharsets.ISO_8859_1);
    for (int i = 0; i < text.length(); i++) {
      char c = text.charAt(i);
      if (c == '\n') {
        if (pattern.foundIn(line)) {
          return matched = true;
        }
        line.setLength(0);
      } else if (c != '\r') {
        line.append(c);
        if (line.length() > MAX_LINE) {
          line.delete(0, line.length() - MAX_LINE);
        }
      }
    }
    return matched = line.length() > 0 && pattern.foundIn(line);
  }
}
