package io.mpqemu.dist;

import io.mpqemu.controlplane.ServeCommand;
import picocli.CommandLine;

/**
 * The main class of {@code control-plane.jar}: {@code serve} (with {@code --embedded-agent} available)
 * and the client commands ({@code vm}, {@code events}, {@code node}, {@code console}).
 */
public final class ControlPlaneJar {

  private ControlPlaneJar() {}

  public static void main(String[] args) {
    int code = commandLine().execute(args);
    if (code != 0) {
      System.exit(code);
    }
  }

  /** The whole command line, with the embedded agent wired in. */
  public static CommandLine commandLine() {
    return ServeCommand.commandLine(new EmbeddedNodeAgent());
  }
}
