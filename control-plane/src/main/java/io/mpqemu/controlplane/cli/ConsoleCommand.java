package io.mpqemu.controlplane.cli;

import io.mpqemu.grpc.MessageLimits;
import io.mpqemu.v1.ConsoleAttachOptions;
import io.mpqemu.v1.GetConsoleLogRequest;
import io.mpqemu.v1.GetConsoleLogResponse;
import io.mpqemu.v1.VmServiceGrpcClient;
import java.io.PrintWriter;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code console ID_OR_NAME [--bytes N]}, or {@code --attach} for an interactive session. */
@Command(name = "console", description = {"Print the tail of a VM's serial console, fetched from its node;",
    "with --attach, attach to it as virsh console does: the recent output, then live; every key goes to the"
        + " guest; Ctrl-] leaves (the VM goes on). One session writes at a time: --read-only to watch beside"
        + " it, --force to take over."},
    exitCodeListHeading = ExitCodes.HEADING,
    exitCodeList = {ExitCodes.OK_LINE, ExitCodes.REFUSED_LINE, ExitCodes.USAGE_LINE, ExitCodes.UNREACHABLE_LINE,
        ExitCodes.NOT_FOUND_LINE})
final class ConsoleCommand extends ClientCommand {

  static final int MAX_BYTES = MessageLimits.MAX_CONSOLE_BYTES;

  @Parameters(index = "0", paramLabel = "ID_OR_NAME", description = "A VM id (a UUID) or a VM name.")
  String vm;

  @Option(names = "--bytes", paramLabel = "N", defaultValue = "0",
      description = "At most this many bytes from the end (0: 64 KiB; at most 1 MiB).")
  int bytes;

  @Option(names = "--attach", description = "Attach interactively instead of printing the tail.")
  boolean attach;

  @Option(names = "--read-only", description = "With --attach: watch without writing (needs only viewer access).")
  boolean readOnly;

  @Option(names = "--force", description = "With --attach: take over from the session that writes now.")
  boolean force;

  @Option(names = "--history", paramLabel = "BYTES", defaultValue = "0",
      description = "With --attach: how much recent output comes first (0: 16 KiB; at most 64 KiB).")
  int history;

  @Override
  void run(ControlPlaneConnection server, ClientOptions options, PrintWriter out) throws Exception {
    if (attach) {
      if (readOnly && force) {
        throw new UsageException("--force takes over writing; it cannot go with --read-only");
      }
      if (history < 0 || history > 64 * 1024) {
        throw new UsageException("--history must be from 0 to 65536, not " + history);
      }
      out.flush();
      new ConsoleAttach(server, System.err).run(vm, ConsoleAttachOptions.newBuilder().setWrite(!readOnly)
          .setForce(force).setHistoryBytes(history).build(), System.in);
      return;
    }
    if (readOnly || force || history != 0) {
      throw new UsageException("--read-only, --force and --history go with --attach");
    }
    if (bytes < 0 || bytes > MAX_BYTES) {
      throw new UsageException("--bytes must be from 0 to " + MAX_BYTES + ", not " + bytes);
    }
    GetConsoleLogRequest request = GetConsoleLogRequest.newBuilder().setVm(Formats.vmRef(vm)).setMaxBytes(bytes).build();
    GetConsoleLogResponse answer = server.call(VmServiceGrpcClient.GetConsoleLog, request);
    if (options.json()) {
      out.println(Formats.json(answer));
      return;
    }
    if (answer.getTruncated()) {
      spec.commandLine().getErr().println("(older output left out; ask for more with --bytes)");
    }
    out.print(answer.getData().toStringUtf8());
  }
}
