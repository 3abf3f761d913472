package io.mpqemu.controlplane.cli;

import io.mpqemu.v1.GetVmRequest;
import io.mpqemu.v1.VmEvent;
import io.mpqemu.v1.VmRef;
import io.mpqemu.v1.VmServiceGrpcClient;
import io.mpqemu.v1.WatchEventsRequest;
import java.io.PrintWriter;
import java.util.List;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code events [--from N] [--follow] [--vm ID_OR_NAME]}. */
@Command(name = "events", description = {
    "Print the event log: every event with a seq greater than --from.",
    "Without --follow, prints what is recorded when the command starts, then stops; with --follow, "
        + "keeps printing live events until Ctrl-C or until the server ends the stream.",
    "A watcher that falls behind is ended with RESOURCE_EXHAUSTED (exit code 1); the message names the "
        + "last seq it got: resume with --from that seq."},
    exitCodeListHeading = ExitCodes.HEADING,
    exitCodeList = {ExitCodes.OK_LINE, ExitCodes.REFUSED_LINE, ExitCodes.USAGE_LINE, ExitCodes.UNREACHABLE_LINE,
        ExitCodes.NOT_FOUND_LINE})
final class EventsCommand extends ClientCommand {

  private static final int[] WIDTHS = {6, 20, 16, 10, 18, 9};

  @Option(names = "--from", paramLabel = "SEQ", defaultValue = "0",
      description = "Only events after this seq (default 0: the whole log).")
  long from;

  @Option(names = {"-f", "--follow"}, description = "Keep printing live events after the recorded ones.")
  boolean follow;

  @Option(names = "--vm", paramLabel = "ID_OR_NAME", description = "Only this VM's events.")
  String vm;

  @Override
  void run(ControlPlaneConnection server, ClientOptions options, PrintWriter out) {
    if (from < 0) {
      throw new UsageException("--from must be 0 or more, not " + from);
    }
    WatchEventsRequest request = WatchEventsRequest.newBuilder().setFromSeq(from).setVmId(vmId(server))
        .setStopAtEnd(!follow).build(); // without --follow, the server ends the stream at the log's end
    if (!options.json()) {
      out.print(Table.line(List.of("SEQ", "TIME", "VM", "NODE", "TYPE", "PHASE", "MESSAGE"), WIDTHS));
      out.flush();
    }
    server.watch(request, event -> {
      out.print(options.json() ? Formats.jsonLine(event) + System.lineSeparator() : line(event));
      out.flush();
    });
  }

  /** The VM's id: as given when it looks like one, otherwise looked up by name. */
  private String vmId(ControlPlaneConnection server) {
    if (vm == null) {
      return "";
    }
    VmRef ref = Formats.vmRef(vm);
    if (!ref.getId().isEmpty()) {
      return ref.getId();
    }
    return server.call(VmServiceGrpcClient.GetVm, GetVmRequest.newBuilder().setVm(ref).build()).getId();
  }

  static String line(VmEvent e) {
    String vm = e.getVmName().isEmpty() ? e.getVmId() : e.getVmName();
    String message = e.getMessage().isEmpty() ? e.getReason() : e.getMessage();
    return Table.line(List.of(Long.toUnsignedString(e.getSeq()), Formats.time(e.getTime()), vm, e.getNode(),
        e.getType().name(), Formats.phase(e.getPhase()), message), WIDTHS);
  }
}
