package io.mpqemu.controlplane.cli;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/** Rows printed in aligned columns, two spaces apart; an empty cell shows as "-". */
final class Table {

  private final List<String> headers;
  private final List<List<String>> rows = new ArrayList<>();

  Table(String... headers) {
    this.headers = List.of(headers);
  }

  Table row(String... cells) {
    if (cells.length != headers.size()) {
      throw new IllegalArgumentException("a row needs " + headers.size() + " cells, got " + cells.length);
    }
    rows.add(Arrays.stream(cells).map(c -> c == null || c.isEmpty() ? "-" : c).toList());
    return this;
  }

  String render() {
    int[] widths = new int[headers.size()];
    for (int i = 0; i < widths.length; i++) {
      widths[i] = headers.get(i).length();
      for (List<String> row : rows) {
        widths[i] = Math.max(widths[i], row.get(i).length());
      }
    }
    StringBuilder out = new StringBuilder();
    line(out, headers, widths);
    rows.forEach(row -> line(out, row, widths));
    return out.toString();
  }

  /** One line with fixed minimum widths, for output that streams and cannot be measured first. */
  static String line(List<String> cells, int... widths) {
    StringBuilder out = new StringBuilder();
    line(out, cells.stream().map(c -> c == null || c.isEmpty() ? "-" : c).toList(), widths);
    return out.toString();
  }

  private static void line(StringBuilder out, List<String> cells, int[] widths) {
    StringBuilder line = new StringBuilder();
    for (int i = 0; i < cells.size(); i++) {
      String cell = cells.get(i);
      line.append(cell);
      if (i < cells.size() - 1) {
        line.append(" ".repeat(Math.max(0, widths[i] - cell.length()) + 2));
      }
    }
    out.append(line).append(System.lineSeparator());
  }
}
