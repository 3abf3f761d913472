package io.mpqemu.controlplane.api;

import io.mpqemu.controlplane.dispatch.AgentClients;
import io.mpqemu.controlplane.intents.VmIntents;
import io.mpqemu.controlplane.nodes.NodeRegistry;
import io.mpqemu.controlplane.store.StoredNode;
import io.mpqemu.controlplane.vm.VmError;
import io.mpqemu.grpc.ConsoleCall;
import io.mpqemu.v1.AgentConsoleInput;
import io.mpqemu.v1.ConsoleAttachOptions;
import io.mpqemu.v1.ConsoleOutput;
import io.mpqemu.v1.GetConsoleLogResponse;
import io.mpqemu.v1.NodeState;
import io.mpqemu.v1.VmRef;
import io.vertx.core.Future;
import java.util.function.Consumer;

/**
 * GetConsoleLog and AttachConsole: passed on to the VM's node, which keeps the serial log and holds the
 * console. Commands no agent.
 */
final class ConsoleRelay {

  private final VmIntents vms;
  private final NodeRegistry nodes;
  private final AgentClients agents;

  ConsoleRelay(VmIntents vms, NodeRegistry nodes, AgentClients agents) {
    this.vms = vms;
    this.nodes = nodes;
    this.agents = agents;
  }

  Future<GetConsoleLogResponse> tail(VmRef ref, int maxBytes) {
    return placed(ref).compose(p -> agents.console(p.node(), p.vmId(), maxBytes));
  }

  /** A console session on the VM's node, for {@code who}; {@code output} gets what the node sends. */
  Future<ConsoleCall<AgentConsoleInput>> attach(VmRef ref, ConsoleAttachOptions options, String who,
      Consumer<ConsoleOutput> output) {
    return placed(ref).compose(p -> agents.attachConsole(p.node(), p.vmId(), options, who, output));
  }

  private record Placed(String vmId, AgentClients.Target node) {}

  private Future<Placed> placed(VmRef ref) {
    return vms.get(ref).compose(vm -> {
      String node = vm.status().getNode();
      if (node.isEmpty()) {
        return Future.failedFuture(new VmError(VmError.Kind.PRECONDITION, "VM '" + vm.name()
            + "' has not been placed on a node yet"));
      }
      StoredNode n = nodes.get(node);
      if (n == null || n.state() == NodeState.NODE_STATE_LOST) {
        return Future.failedFuture(new VmError(VmError.Kind.UNAVAILABLE, "node " + node + " of VM '" + vm.name()
            + "' cannot be reached"));
      }
      return Future.succeededFuture(new Placed(vm.id(), AgentClients.Target.of(n.id(), n.endpoint())));
    });
  }
}
