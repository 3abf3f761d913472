package io.mpqemu.controlplane.dispatch;

import io.mpqemu.controlplane.leadership.Leadership;
import io.mpqemu.controlplane.reconcile.Agents;
import io.mpqemu.controlplane.store.StoredNode;
import io.mpqemu.controlplane.store.StoredVm;
import io.mpqemu.v1.AgentVm;
import io.vertx.core.Future;
import java.util.List;

/**
 * The {@link Agents} port over gRPC: each command goes to the node's announced endpoint with this control
 * plane's leader epoch, which agents use to refuse a control plane that no longer leads (fencing).
 */
public final class NodeAgents implements Agents {

  private final AgentClients clients;
  private final Leadership leadership;

  public NodeAgents(AgentClients clients, Leadership leadership) {
    this.clients = clients;
    this.leadership = leadership;
  }

  @Override
  public Future<AgentVm> launch(StoredNode node, StoredVm vm) {
    return leading().compose(epoch -> clients.launch(target(node), vm.id(), vm.spec(), vm.revision(), epoch));
  }

  @Override
  public Future<AgentVm> stop(StoredNode node, String vmId, int timeoutSeconds, boolean force) {
    return leading().compose(epoch -> clients.stop(target(node), vmId, timeoutSeconds, force, epoch));
  }

  @Override
  public Future<Void> delete(StoredNode node, String vmId) {
    return leading().compose(epoch -> clients.delete(target(node), vmId, true, epoch));
  }

  /** The epoch to command in; a control plane that does not lead (any more) sends nothing. */
  private Future<Long> leading() {
    return leadership.leads() ? Future.succeededFuture(leadership.epoch())
        : Future.failedFuture(new IllegalStateException("this control plane does not lead now ("
            + leadership.describe() + "): no command sent"));
  }

  @Override
  public Future<List<AgentVm>> list(StoredNode node) {
    return clients.list(target(node));
  }

  static AgentClients.Target target(StoredNode node) {
    return AgentClients.Target.of(node.id(), node.endpoint());
  }
}
