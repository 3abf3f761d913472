package io.mpqemu.controlplane.cli;

import io.mpqemu.v1.ListNodesRequest;
import io.mpqemu.v1.ListNodesResponse;
import io.mpqemu.v1.Node;
import io.mpqemu.v1.NodeInfo;
import io.mpqemu.v1.VmServiceGrpcClient;
import java.io.PrintWriter;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code node list}. */
@Command(name = "node", description = "Show the nodes the control plane knows.",
    exitCodeListHeading = ExitCodes.HEADING,
    exitCodeList = {ExitCodes.OK_LINE, ExitCodes.REFUSED_LINE, ExitCodes.USAGE_LINE, ExitCodes.UNREACHABLE_LINE},
    subcommands = NodeCommands.ListNodes.class)
final class NodeCommands {

  @Option(names = {"-h", "--help"}, usageHelp = true, description = "Show this help, with the exit codes.")
  boolean help;

  @Command(name = "list", description = "List the nodes: state, endpoint, VMs, memory allocated of total.",
      exitCodeListHeading = ExitCodes.HEADING,
      exitCodeList = {ExitCodes.OK_LINE, ExitCodes.REFUSED_LINE, ExitCodes.USAGE_LINE, ExitCodes.UNREACHABLE_LINE})
  static final class ListNodes extends ClientCommand {
    @Override
    void run(ControlPlaneConnection server, ClientOptions options, PrintWriter out) {
      ListNodesResponse answer = server.call(VmServiceGrpcClient.ListNodes, ListNodesRequest.getDefaultInstance());
      if (options.json()) {
        answer.getNodesList().forEach(n -> out.println(Formats.jsonLine(n)));
        return;
      }
      Table table = new Table("NODE", "STATE", "ENDPOINT", "VMS", "MEMORY", "ACCEL", "LAST HEARTBEAT");
      for (Node node : answer.getNodesList()) {
        NodeInfo info = node.getInfo();
        table.row(node.getId(), Formats.state(node.getState()), node.getEndpoint(),
            Integer.toUnsignedString(info.getVmCount()) + "/" + Integer.toUnsignedString(info.getCapacity().getMaxVms()),
            info.getAllocatedMemoryMib() + "/" + info.getCapacity().getMemoryMib() + " MiB",
            info.getAccelerator(), Formats.time(node.getLastHeartbeat()));
      }
      out.print(table.render());
    }
  }
}
