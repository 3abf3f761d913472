package io.mpqemu.controlplane.reconcile;

import io.mpqemu.controlplane.store.StoredNode;
import io.mpqemu.controlplane.store.StoredVm;
import io.mpqemu.v1.AgentVm;
import io.vertx.core.Future;
import java.util.List;

/**
 * The node agents as the reconciler commands them. Every command is idempotent on the agent (a VM id
 * with its spec and revision), so a repeated step never does twice what it did once. A refusal fails
 * the future with the agent's status ({@code GrpcCallException}); NOT_FOUND on stop or delete means the
 * node does not have the VM.
 */
public interface Agents {

  /** Launches {@code vm} on {@code node}, or answers the VM as it runs there already. */
  Future<AgentVm> launch(StoredNode node, StoredVm vm);

  /** Stops it (gracefully within {@code timeoutSeconds}, or at once when {@code force}); answers what is left. */
  Future<AgentVm> stop(StoredNode node, String vmId, int timeoutSeconds, boolean force);

  /** Stops and forgets it on that node. */
  Future<Void> delete(StoredNode node, String vmId);

  /** Every VM the node has. */
  Future<List<AgentVm>> list(StoredNode node);
}
