package io.mpqemu.controlplane.dispatch;

import io.mpqemu.controlplane.reconcile.Agents;
import io.mpqemu.controlplane.store.StoredNode;
import io.mpqemu.controlplane.store.StoredVm;
import io.mpqemu.v1.AgentVm;
import io.vertx.core.Future;
import java.util.List;

/** The {@link Agents} port over gRPC: each command goes to the node's announced endpoint. */
public final class NodeAgents implements Agents {

  private final AgentClients clients;

  public NodeAgents(AgentClients clients) {
    this.clients = clients;
  }

  @Override
  public Future<AgentVm> launch(StoredNode node, StoredVm vm) {
    return clients.launch(target(node), vm.id(), vm.spec(), vm.revision());
  }

  @Override
  public Future<AgentVm> stop(StoredNode node, String vmId, int timeoutSeconds, boolean force) {
    return clients.stop(target(node), vmId, timeoutSeconds, force);
  }

  @Override
  public Future<Void> delete(StoredNode node, String vmId) {
    return clients.delete(target(node), vmId, true);
  }

  @Override
  public Future<List<AgentVm>> list(StoredNode node) {
    return clients.list(target(node));
  }

  static AgentClients.Target target(StoredNode node) {
    return AgentClients.Target.of(node.id(), node.endpoint());
  }
}
