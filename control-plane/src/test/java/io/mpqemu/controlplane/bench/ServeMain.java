package io.mpqemu.controlplane.bench;

import io.mpqemu.controlplane.ServeCommand;

/**
 * {@code control-plane serve} as a main class on the test class path (the jar's main class lives in the
 * dist module), so a benchmark can run the control plane in a JVM of its own, kill -9 it and start it again.
 */
public final class ServeMain {

  private ServeMain() {}

  public static void main(String[] args) {
    int code = ServeCommand.commandLine(null).execute(args);
    if (code != 0) {
      System.exit(code);
    }
  }
}
