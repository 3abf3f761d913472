package io.mpqemu.controlplane.cli;

import io.mpqemu.v1.CreateVmRequest;
import io.mpqemu.v1.DeleteVmRequest;
import io.mpqemu.v1.DesiredState;
import io.mpqemu.v1.GetVmRequest;
import io.mpqemu.v1.ListVmsRequest;
import io.mpqemu.v1.ListVmsResponse;
import io.mpqemu.v1.Phase;
import io.mpqemu.v1.ProcessStatus;
import io.mpqemu.v1.StartVmRequest;
import io.mpqemu.v1.StopVmRequest;
import io.mpqemu.v1.Vm;
import io.mpqemu.v1.VmServiceGrpcClient;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code vm create | list | get | start | stop | delete | update}. */
@Command(name = "vm", description = "Create, list, show, start, stop, delete and update VMs.",
    exitCodeListHeading = ExitCodes.HEADING,
    exitCodeList = {ExitCodes.OK_LINE, ExitCodes.REFUSED_LINE, ExitCodes.USAGE_LINE, ExitCodes.UNREACHABLE_LINE,
        ExitCodes.NOT_FOUND_LINE},
    subcommands = {VmCommands.Create.class, VmCommands.ListVms.class, VmCommands.Get.class, VmCommands.Start.class,
        VmCommands.Stop.class, VmCommands.Delete.class, VmUpdateCommand.class})
final class VmCommands {

  @Option(names = {"-h", "--help"}, usageHelp = true, description = "Show this help, with the exit codes.")
  boolean help;

  static final String[] COLUMNS = {"NAME", "ID", "PHASE", "NODE", "DESIRED", "REASON"};

  static String[] row(Vm vm) {
    return new String[] {vm.getSpec().getName(), vm.getId(), Formats.phase(vm.getStatus().getPhase()),
        vm.getStatus().getNode(), Formats.desired(vm.getDesiredState()), vm.getStatus().getReason()};
  }

  /** One VM: pretty JSON, or a one-row table. */
  static void print(Vm vm, ClientOptions options, PrintWriter out) {
    out.print(options.json() ? Formats.json(vm) + System.lineSeparator() : new Table(COLUMNS).row(row(vm)).render());
  }

  @Command(name = "create", description = "Create a VM from a spec file; it starts unless --stopped.",
      exitCodeListHeading = ExitCodes.HEADING,
      exitCodeList = {ExitCodes.OK_LINE, ExitCodes.REFUSED_LINE, ExitCodes.USAGE_LINE, ExitCodes.UNREACHABLE_LINE})
  static final class Create extends ClientCommand {
    @Option(names = {"-f", "--file"}, required = true, paramLabel = "FILE",
        description = "Protobuf JSON of a VmSpec, or of a CreateVmRequest ({\"spec\": ..., \"requestId\": ...}).")
    Path file;

    @Option(names = "--request-id", paramLabel = "ID",
        description = "Makes retries safe: the same id with the same spec answers with the same VM.")
    String requestId;

    @Option(names = "--stopped", description = "Store the VM with desired state STOPPED instead of starting it.")
    boolean stopped;

    @Override
    void run(ControlPlaneConnection server, ClientOptions options, PrintWriter out) {
      CreateVmRequest.Builder request = SpecFile.read(file).toBuilder();
      if (requestId != null) {
        request.setRequestId(requestId);
      }
      if (stopped) {
        request.setDesiredState(DesiredState.STOPPED);
      }
      print(server.call(VmServiceGrpcClient.CreateVm, request.build()), options, out);
    }
  }

  @Command(name = "list", description = "List VMs, all pages of them.",
      exitCodeListHeading = ExitCodes.HEADING,
      exitCodeList = {ExitCodes.OK_LINE, ExitCodes.REFUSED_LINE, ExitCodes.USAGE_LINE, ExitCodes.UNREACHABLE_LINE})
  static final class ListVms extends ClientCommand {
    @Option(names = "--phase", paramLabel = "PHASE", description = "Only VMs in this phase, e.g. RUNNING or FAILED.")
    String phase;

    @Option(names = "--node", paramLabel = "NODE", description = "Only VMs on this node.")
    String node;

    @Option(names = {"-l", "--label"}, paramLabel = "KEY=VALUE", description = "Only VMs with this label; repeatable.")
    List<String> labels = new ArrayList<>();

    @Override
    void run(ControlPlaneConnection server, ClientOptions options, PrintWriter out) {
      ListVmsRequest.Builder request = ListVmsRequest.newBuilder()
          .setPhase(phase == null ? Phase.PHASE_UNSPECIFIED : parsePhase(phase))
          .setNode(node == null ? "" : node)
          .setLabelSelector(labelSelector(labels));
      List<Vm> vms = new ArrayList<>();
      do {
        ListVmsResponse page = server.call(VmServiceGrpcClient.ListVms, request.build());
        vms.addAll(page.getVmsList());
        request.setPageToken(page.getNextPageToken());
      } while (!request.getPageToken().isEmpty());
      if (options.json()) {
        vms.forEach(vm -> out.println(Formats.jsonLine(vm)));
      } else {
        Table table = new Table(COLUMNS);
        vms.forEach(vm -> table.row(row(vm)));
        out.print(table.render());
      }
    }

    static Phase parsePhase(String text) {
      String name = text.toUpperCase(Locale.ROOT);
      name = name.startsWith("PHASE_") ? name : "PHASE_" + name;
      try {
        Phase p = Phase.valueOf(name);
        if (p != Phase.PHASE_UNSPECIFIED && p != Phase.UNRECOGNIZED) {
          return p;
        }
      } catch (IllegalArgumentException ignored) {
        // reported below
      }
      throw new UsageException("--phase " + text + " is not a phase; use one of " + String.join(", ",
          Arrays.stream(Phase.values()).filter(p -> p != Phase.PHASE_UNSPECIFIED && p != Phase.UNRECOGNIZED)
              .map(Formats::phase).toList()));
    }

    static String labelSelector(List<String> labels) {
      for (String label : labels) {
        int eq = label.indexOf('=');
        if (eq <= 0 || label.indexOf(',') >= 0) {
          throw new UsageException("-l " + label + " must be key=value");
        }
      }
      return String.join(",", labels);
    }
  }

  @Command(name = "get", description = "Show one VM, with its processes.",
      exitCodeListHeading = ExitCodes.HEADING,
      exitCodeList = {ExitCodes.OK_LINE, ExitCodes.REFUSED_LINE, ExitCodes.USAGE_LINE, ExitCodes.UNREACHABLE_LINE,
          ExitCodes.NOT_FOUND_LINE})
  static final class Get extends ClientCommand {
    @Parameters(index = "0", paramLabel = "ID_OR_NAME", description = "A VM id (a UUID) or a VM name.")
    String vm;

    @Override
    void run(ControlPlaneConnection server, ClientOptions options, PrintWriter out) {
      Vm answer = server.call(VmServiceGrpcClient.GetVm, GetVmRequest.newBuilder().setVm(Formats.vmRef(vm)).build());
      if (options.json()) {
        out.println(Formats.json(answer));
        return;
      }
      out.print(details(answer));
    }

    static String details(Vm vm) {
      Table fields = new Table("NAME", vm.getSpec().getName());
      fields.row("ID", vm.getId())
          .row("PHASE", Formats.phase(vm.getStatus().getPhase()))
          .row("DESIRED", Formats.desired(vm.getDesiredState()))
          .row("NODE", vm.getStatus().getNode())
          .row("REASON", vm.getStatus().getReason())
          .row("MESSAGE", vm.getStatus().getMessage())
          .row("MEMORY", vm.getSpec().getMemoryMib() + " MiB")
          .row("VCPUS", Integer.toString(Math.max(1, vm.getSpec().getVcpus())))
          .row("RESTARTS", Integer.toUnsignedString(vm.getStatus().getRestarts()))
          .row("OWNER", vm.getOwner().isEmpty() ? "(none)" : vm.getOwner())
          .row("REVISION", Long.toUnsignedString(vm.getRevision()))
          .row("CREATED", Formats.time(vm.getCreatedAt()))
          .row("UPDATED", Formats.time(vm.getUpdatedAt()));
      StringBuilder text = new StringBuilder(fields.render());
      if (vm.getStatus().getProcessesCount() > 0) {
        Table processes = new Table("PROCESS", "ROLE", "PID", "STATE", "CPU", "RSS", "EXIT", "STARTED");
        for (ProcessStatus p : vm.getStatus().getProcessesList()) {
          processes.row(p.getName(), p.getRole().name().replaceFirst("^PROCESS_ROLE_", ""), Long.toString(p.getPid()),
              p.getState().name().replaceFirst("^PROCESS_STATE_", ""), Formats.cpuSeconds(p.getCpuSeconds()),
              Formats.mebibytes(p.getRssBytes()), p.hasExitStatus() ? Integer.toString(p.getExitStatus()) : p.getSignal(),
              Formats.time(p.getStartedAt()));
        }
        text.append(System.lineSeparator()).append(processes.render());
      }
      if (vm.getStatus().getNicsCount() > 0) {
        Table nics = new Table("NIC", "MODEL", "MAC", "NETWORK", "PLACEMENT", "ADDRESSES", "FORWARDS");
        for (io.mpqemu.v1.NicStatus n : vm.getStatus().getNicsList()) {
          nics.row(n.getId(), n.getModel(), n.getMac(), n.getNetwork(), n.getPlacement().name(),
              n.getAddressesCount() == 0 ? "-" : String.join(", ", n.getAddressesList()),
              n.getForwardsCount() == 0 ? "-" : String.join(", ", n.getForwardsList()));
        }
        text.append(System.lineSeparator()).append(nics.render());
      }
      return text.toString();
    }
  }

  @Command(name = "start", description = "Set the VM's desired state to RUNNING; the control plane places and launches it.",
      exitCodeListHeading = ExitCodes.HEADING,
      exitCodeList = {ExitCodes.OK_LINE, ExitCodes.REFUSED_LINE, ExitCodes.USAGE_LINE, ExitCodes.UNREACHABLE_LINE,
          ExitCodes.NOT_FOUND_LINE})
  static final class Start extends ClientCommand {
    @Parameters(index = "0", paramLabel = "ID_OR_NAME", description = "A VM id (a UUID) or a VM name.")
    String vm;

    @Option(names = "--expected-revision", paramLabel = "N", defaultValue = "0",
        description = "Refuse (FAILED_PRECONDITION) unless the VM is at this revision (see `vm get`); 0: any.")
    long expectedRevision;

    @Override
    void run(ControlPlaneConnection server, ClientOptions options, PrintWriter out) {
      print(server.call(VmServiceGrpcClient.StartVm, StartVmRequest.newBuilder().setVm(Formats.vmRef(vm))
          .setExpectedRevision(VmUpdateCommand.revision(expectedRevision)).build()), options, out);
    }
  }

  @Command(name = "stop", description = "Set the VM's desired state to STOPPED; the control plane stops it on its node.",
      exitCodeListHeading = ExitCodes.HEADING,
      exitCodeList = {ExitCodes.OK_LINE, ExitCodes.REFUSED_LINE, ExitCodes.USAGE_LINE, ExitCodes.UNREACHABLE_LINE,
          ExitCodes.NOT_FOUND_LINE})
  static final class Stop extends ClientCommand {
    @Parameters(index = "0", paramLabel = "ID_OR_NAME", description = "A VM id (a UUID) or a VM name.")
    String vm;

    @Option(names = "--timeout", paramLabel = "SECONDS", defaultValue = "0",
        description = "How long the guest gets to power off before it is forced (0: the agent's default).")
    int timeout;

    @Option(names = "--force", description = "Kill it at once, without asking the guest.")
    boolean force;

    @Option(names = "--expected-revision", paramLabel = "N", defaultValue = "0",
        description = "Refuse (FAILED_PRECONDITION) unless the VM is at this revision (see `vm get`); 0: any.")
    long expectedRevision;

    @Override
    void run(ControlPlaneConnection server, ClientOptions options, PrintWriter out) {
      if (timeout < 0) {
        throw new UsageException("--timeout must be 0 or more seconds, not " + timeout);
      }
      StopVmRequest request = StopVmRequest.newBuilder().setVm(Formats.vmRef(vm)).setTimeoutSeconds(timeout)
          .setForce(force).setExpectedRevision(VmUpdateCommand.revision(expectedRevision)).build();
      print(server.call(VmServiceGrpcClient.StopVm, request), options, out);
    }
  }

  @Command(name = "delete", description = "Stop the VM, then remove it; its events stay in the log.",
      exitCodeListHeading = ExitCodes.HEADING,
      exitCodeList = {ExitCodes.OK_LINE, ExitCodes.REFUSED_LINE, ExitCodes.USAGE_LINE, ExitCodes.UNREACHABLE_LINE,
          ExitCodes.NOT_FOUND_LINE})
  static final class Delete extends ClientCommand {
    @Parameters(index = "0", paramLabel = "ID_OR_NAME", description = "A VM id (a UUID) or a VM name.")
    String vm;

    @Option(names = "--expected-revision", paramLabel = "N", defaultValue = "0",
        description = "Refuse (FAILED_PRECONDITION) unless the VM is at this revision (see `vm get`); 0: any.")
    long expectedRevision;

    @Override
    void run(ControlPlaneConnection server, ClientOptions options, PrintWriter out) {
      var answer = server.call(VmServiceGrpcClient.DeleteVm, DeleteVmRequest.newBuilder().setVm(Formats.vmRef(vm))
          .setExpectedRevision(VmUpdateCommand.revision(expectedRevision)).build());
      out.println(options.json() ? Formats.jsonLine(answer) : "deleted " + vm);
    }
  }
}
