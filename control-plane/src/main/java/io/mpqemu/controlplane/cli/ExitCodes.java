package io.mpqemu.controlplane.cli;

/** The exit codes scripts can rely on; each command's help lists them. */
final class ExitCodes {

  static final int OK = 0;
  static final int REFUSED = 1;
  static final int USAGE = 2;
  static final int UNREACHABLE = 3;
  static final int NOT_FOUND = 4;

  static final String HEADING = "%nExit codes:%n";
  static final String OK_LINE = "0:done";
  static final String REFUSED_LINE = "1:the control plane refused: `error: <STATUS>: <its message>` on stderr";
  static final String USAGE_LINE = "2:usage error: a bad flag, or a spec file that cannot be read or is invalid";
  static final String UNREACHABLE_LINE = "3:the control plane cannot be reached at --server";
  static final String NOT_FOUND_LINE = "4:not found: no such VM (the NOT_FOUND status)";

  private ExitCodes() {}
}
