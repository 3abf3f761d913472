package io.mpqemu.controlplane;

import io.mpqemu.controlplane.events.EventLog;
import io.mpqemu.controlplane.intents.VmIntents;
import io.mpqemu.controlplane.leadership.Leadership;
import io.mpqemu.controlplane.nodes.NodeLiveness;
import io.mpqemu.controlplane.nodes.NodeRegistry;
import io.mpqemu.controlplane.reconcile.Agents;
import io.mpqemu.controlplane.reconcile.Reconciler;
import io.mpqemu.controlplane.reconcile.Timers;
import io.mpqemu.controlplane.records.VmRecords;
import io.mpqemu.controlplane.store.StoreExecutor;
import java.time.Clock;

/**
 * The control plane's core, wired: the write model, the reconciler (the only user of the agents port),
 * node liveness (which hands node changes to the reconciler) and the intents (which ask the reconciler to
 * converge). The verticle and the tests build it the same way.
 */
public record ControlPlaneCore(VmRecords records, Reconciler reconciler, NodeLiveness liveness, VmIntents intents) {

  /** @param leadership whether this control plane leads: only the leader writes, records and dispatches */
  public static ControlPlaneCore wire(ControlPlaneConfig config, StoreExecutor store, EventLog log, NodeRegistry nodes,
      Agents agents, Clock clock, Timers timers, Leadership leadership) {
    VmRecords records = new VmRecords(store, log, clock);
    Reconciler reconciler = new Reconciler(records, nodes, agents, timers, config.restartBackoffMax());
    NodeLiveness liveness = new NodeLiveness(nodes, store, records, config.notReadyAfter(), config.lostAfter(),
        reconciler::nodeChanged, leadership);
    VmIntents intents = new VmIntents(records, store, reconciler, config.limits(), config.quota(), leadership);
    return new ControlPlaneCore(records, reconciler, liveness, intents);
  }
}
