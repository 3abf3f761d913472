package io.mpqemu.controlplane.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

/**
 * The client half of the {@code control-plane} command: {@code vm}, {@code events}, {@code node},
 * {@code console}, {@code control-planes}, with {@code --server} and {@code --output} accepted anywhere after the command name.
 * Standalone via {@link #commandLine()}, or mounted into another command with {@link #addTo}.
 */
@Command(name = "control-plane", mixinStandardHelpOptions = true,
    description = "Talk to the mpqemu control plane.",
    exitCodeListHeading = ExitCodes.HEADING,
    exitCodeList = {ExitCodes.OK_LINE, ExitCodes.REFUSED_LINE, ExitCodes.USAGE_LINE, ExitCodes.UNREACHABLE_LINE,
        ExitCodes.NOT_FOUND_LINE},
    subcommands = {VmCommands.class, EventsCommand.class, NodeCommands.class, ConsoleCommand.class, ImageCommands.class,
        ControlPlanesCommand.class})
public final class ControlPlaneCli {

  @Mixin(name = ClientOptions.MIXIN)
  ClientOptions client;

  /** The client commands on their own, under a root named {@code control-plane}. */
  public static CommandLine commandLine() {
    return new CommandLine(new ControlPlaneCli());
  }

  /**
   * Mounts {@code vm}, {@code events}, {@code node}, {@code console} and {@code control-planes} into {@code main} (which must not
   * have them yet), with the shared client options; call before {@code setOut}/{@code setErr}.
   */
  public static CommandLine addTo(CommandLine main) {
    main.addMixin(ClientOptions.MIXIN, new ClientOptions());
    main.addSubcommand(new VmCommands());
    main.addSubcommand(new EventsCommand());
    main.addSubcommand(new NodeCommands());
    main.addSubcommand(new ConsoleCommand());
    main.addSubcommand(new ImageCommands());
    main.addSubcommand(new ControlPlanesCommand());
    return main;
  }

  /** Runs a client command with stdout and stderr; returns its exit code (see the help). */
  public static int run(String... args) {
    return commandLine().execute(args);
  }
}
