package io.mpqemu.controlplane.cli;

import io.mpqemu.v1.ControlPlane;
import io.mpqemu.v1.ListControlPlanesRequest;
import io.mpqemu.v1.ListControlPlanesResponse;
import io.mpqemu.v1.VmServiceGrpcClient;
import java.io.PrintWriter;
import java.time.Duration;
import picocli.CommandLine.Command;

/** {@code control-planes}: who shares the database, who leads, in which epoch, since when. */
@Command(name = "control-planes", description = "List the control planes sharing the database: which leads, its"
    + " epoch and how long its lease has been held, and when each was last seen.",
    exitCodeListHeading = ExitCodes.HEADING,
    exitCodeList = {ExitCodes.OK_LINE, ExitCodes.REFUSED_LINE, ExitCodes.USAGE_LINE, ExitCodes.UNREACHABLE_LINE})
final class ControlPlanesCommand extends ClientCommand {

  @Override
  void run(ControlPlaneConnection server, ClientOptions options, PrintWriter out) {
    ListControlPlanesResponse answer = server.call(VmServiceGrpcClient.ListControlPlanes,
        ListControlPlanesRequest.getDefaultInstance());
    if (options.json()) {
      answer.getControlPlanesList().forEach(c -> out.println(Formats.jsonLine(c)));
      return;
    }
    Table table = new Table("ID", "ROLE", "EPOCH", "LEASE AGE", "ADDRESSES", "STARTED", "LAST SEEN");
    for (ControlPlane c : answer.getControlPlanesList()) {
      table.row(c.getId().isEmpty() ? "(alone)" : c.getId(), c.getLeader() ? "leader" : "standby",
          c.getLeader() ? Long.toUnsignedString(c.getLeaderEpoch()) : "-",
          c.getLeader() ? age(c.getLeaseAgeMillis()) : "-", String.join(" ", c.getAddressesList()),
          Formats.time(c.getStartedAt()), Formats.time(c.getLastSeen()));
    }
    out.print(table.render());
  }

  private static String age(long millis) {
    Duration d = Duration.ofMillis(millis);
    return d.toHours() > 0 ? d.toHours() + "h" + d.toMinutesPart() + "m"
        : d.toMinutes() > 0 ? d.toMinutes() + "m" + d.toSecondsPart() + "s" : d.toSeconds() + "s";
  }
}
