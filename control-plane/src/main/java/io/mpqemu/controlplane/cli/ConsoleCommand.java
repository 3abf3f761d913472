package io.mpqemu.controlplane.cli;

import io.mpqemu.grpc.MessageLimits;
import io.mpqemu.v1.GetConsoleLogRequest;
import io.mpqemu.v1.GetConsoleLogResponse;
import io.mpqemu.v1.VmServiceGrpcClient;
import java.io.PrintWriter;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code console ID_OR_NAME [--bytes N]}. */
@Command(name = "console", description = "Print the tail of a VM's serial console, fetched from its node.",
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

  @Override
  void run(ControlPlaneConnection server, ClientOptions options, PrintWriter out) {
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
