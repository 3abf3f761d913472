package io.mpqemu.controlplane.cli;

import com.google.protobuf.FieldMask;
import io.mpqemu.v1.RestartPolicy;
import io.mpqemu.v1.UpdateVmRequest;
import io.mpqemu.v1.VmServiceGrpcClient;
import io.mpqemu.v1.VmSpec;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code vm update}: replaces a VM's labels, node selector or restart policy; each option given replaces that field whole. */
@Command(name = "update", description = "Replace a VM's labels, node selector or restart policy (each one given replaces"
    + " the whole field). A new node selector applies the next time the VM is placed, a new restart policy when its run ends.",
    exitCodeListHeading = ExitCodes.HEADING,
    exitCodeList = {ExitCodes.OK_LINE, ExitCodes.REFUSED_LINE, ExitCodes.USAGE_LINE, ExitCodes.UNREACHABLE_LINE,
        ExitCodes.NOT_FOUND_LINE})
final class VmUpdateCommand extends ClientCommand {

  @Parameters(index = "0", paramLabel = "ID_OR_NAME", description = "A VM id (a UUID) or a VM name.")
  String vm;

  @Option(names = "--label", paramLabel = "KEY=VALUE", description = "The VM's labels become these; repeatable.")
  List<String> labels = new ArrayList<>();

  @Option(names = "--clear-labels", description = "The VM keeps no label.")
  boolean clearLabels;

  @Option(names = "--node-selector", paramLabel = "KEY=VALUE",
      description = "The VM may only be placed on nodes with all of these labels; repeatable.")
  List<String> selector = new ArrayList<>();

  @Option(names = "--clear-node-selector", description = "The VM may be placed on any node.")
  boolean clearSelector;

  @Option(names = "--restart-policy", paramLabel = "POLICY", description = "never, on-failure or always.")
  String restartPolicy;

  @Option(names = "--expected-revision", paramLabel = "N", defaultValue = "0",
      description = "Refuse (FAILED_PRECONDITION) unless the VM is at this revision (see `vm get`); 0: any.")
  long expectedRevision;

  @Override
  void run(ControlPlaneConnection server, ClientOptions options, PrintWriter out) {
    VmSpec.Builder values = VmSpec.newBuilder();
    FieldMask.Builder mask = FieldMask.newBuilder();
    if (!labels.isEmpty() || clearLabels) {
      exclusive(!labels.isEmpty() && clearLabels, "--label", "--clear-labels");
      values.putAllLabels(pairs("--label", labels));
      mask.addPaths("labels");
    }
    if (!selector.isEmpty() || clearSelector) {
      exclusive(!selector.isEmpty() && clearSelector, "--node-selector", "--clear-node-selector");
      values.putAllNodeSelector(pairs("--node-selector", selector));
      mask.addPaths("node_selector");
    }
    if (restartPolicy != null) {
      values.setRestartPolicy(policy(restartPolicy));
      mask.addPaths("restart_policy");
    }
    if (mask.getPathsCount() == 0) {
      throw new UsageException("say what to change: --label, --clear-labels, --node-selector, --clear-node-selector"
          + " or --restart-policy");
    }
    UpdateVmRequest request = UpdateVmRequest.newBuilder().setVm(Formats.vmRef(vm)).setSpec(values).setUpdateMask(mask)
        .setExpectedRevision(revision(expectedRevision)).build();
    VmCommands.print(server.call(VmServiceGrpcClient.UpdateVm, request), options, out);
  }

  /** An --expected-revision value, checked. */
  static long revision(long value) {
    if (value < 0) {
      throw new UsageException("--expected-revision must be a revision (1 or more) or 0 for any, not " + value);
    }
    return value;
  }

  private static void exclusive(boolean both, String one, String other) {
    if (both) {
      throw new UsageException(one + " and " + other + " cannot go together");
    }
  }

  private static Map<String, String> pairs(String option, List<String> given) {
    Map<String, String> map = new LinkedHashMap<>();
    for (String pair : given) {
      int eq = pair.indexOf('=');
      if (eq <= 0) {
        throw new UsageException(option + " " + pair + " must be key=value");
      }
      if (map.put(pair.substring(0, eq), pair.substring(eq + 1)) != null) {
        throw new UsageException(option + " names " + pair.substring(0, eq) + " twice");
      }
    }
    return map;
  }

  private static RestartPolicy policy(String text) {
    return switch (text.toLowerCase(Locale.ROOT).replace('_', '-')) {
      case "never" -> RestartPolicy.NEVER;
      case "on-failure" -> RestartPolicy.ON_FAILURE;
      case "always" -> RestartPolicy.ALWAYS;
      default -> throw new UsageException("--restart-policy must be never, on-failure or always, not " + text);
    };
  }
}
