package io.mpqemu.controlplane.reconcile;

import io.mpqemu.controlplane.nodes.NodeRegistry;
import io.mpqemu.controlplane.policy.Restarts;
import io.mpqemu.controlplane.policy.StatusFold;
import io.mpqemu.controlplane.records.VmRecords;
import io.mpqemu.controlplane.scheduling.Decision;
import io.mpqemu.controlplane.scheduling.NodeView;
import io.mpqemu.controlplane.scheduling.Placement;
import io.mpqemu.controlplane.store.StoredNode;
import io.mpqemu.controlplane.store.StoredVm;
import io.mpqemu.controlplane.vm.Backoff;
import io.mpqemu.errors.Failures;
import io.mpqemu.spec.CloudInitSeed;
import io.mpqemu.spec.DiskSources;
import io.mpqemu.spec.NicRules;
import io.mpqemu.grpc.GrpcCallException;
import io.mpqemu.v1.DesiredState;
import io.mpqemu.v1.EventType;
import io.mpqemu.v1.NodeState;
import io.mpqemu.v1.Phase;
import io.mpqemu.v1.VmSpec;
import io.vertx.grpc.common.GrpcStatus;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Getting VMs that should run onto nodes: placing, launching, backing off when a node refuses, and
 * restarting by the VM's restart policy. Each step reads the VM as recorded now, acts once, and leaves
 * the next step to the outcome (the agent's answer or event), so repeating a step is harmless.
 */
final class Launches {

  private static final Logger LOG = LoggerFactory.getLogger(Launches.class);
  private static final Set<Phase> PLACEABLE = Set.of(Phase.PHASE_PENDING, Phase.PHASE_FAILED, Phase.PHASE_STOPPED,
      Phase.PHASE_SCHEDULED);

  private final VmRecords records;
  private final NodeRegistry nodes;
  private final Agents agents;
  private final AgentReports reports;
  private final InFlight inFlight;
  private final Timers timers;
  private final Duration maxBackoff;
  /** Launches in a row a node refused for want of what the spec names (an image), by VM: the back-off's step. */
  private final Map<String, Integer> refusedLaunches = new HashMap<>();
  /** The nodes that refused a VM's launch for want of an image, by VM: it is placed elsewhere while it can be. */
  private final Map<String, Set<String>> lackingImage = new HashMap<>();

  Launches(VmRecords records, NodeRegistry nodes, Agents agents, AgentReports reports, InFlight inFlight, Timers timers,
      Duration maxBackoff) {
    this.records = records;
    this.nodes = nodes;
    this.agents = agents;
    this.reports = reports;
    this.inFlight = inFlight;
    this.timers = timers;
    this.maxBackoff = maxBackoff;
  }

  /** Places every VM waiting for a node: linear in the VMs waiting, each placement linear in the nodes. */
  void schedulePending() {
    for (String id : records.pending()) {
      if (!inFlight.restartPending(id)) {
        schedule(id);
      }
    }
  }

  /** Places the VM and launches it there, or records why it cannot be placed now. */
  void schedule(String vmId) {
    StoredVm vm = records.get(vmId).orElse(null);
    if (vm == null || vm.desiredState() != DesiredState.RUNNING || inFlight.busy(vmId)
        || !PLACEABLE.contains(vm.status().getPhase())) {
      return;
    }
    Phase phase = vm.status().getPhase();
    Decision decision = place(vm);
    if (decision instanceof Decision.Unschedulable u) {
      if (!u.message().equals(vm.status().getMessage()) || phase != Phase.PHASE_PENDING) {
        StoredVm pending = vm.withStatus(vm.status().toBuilder().setPhase(Phase.PHASE_PENDING).setNode("")
            .setReason(u.reason()).setMessage(u.message()).build(), records.clock().instant());
        records.update(pending, EventType.UNSCHEDULABLE, u.reason(), u.message());
      }
      return;
    }
    moveTo(vm, ((Decision.Placed) decision).nodeId(), null);
  }

  /** Records the VM SCHEDULED on {@code node} ({@code why} it moved there, if it did) and launches it there. */
  private void moveTo(StoredVm vm, String node, String why) {
    String message = "placed on node " + node + (why == null ? "" : ": " + why);
    StoredVm scheduled = vm.withStatus(vm.status().toBuilder().setPhase(Phase.PHASE_SCHEDULED).setNode(node)
        .setReason("Scheduled").setMessage(message).build(), records.clock().instant());
    records.update(scheduled, EventType.SCHEDULED, "Scheduled", message);
    launch(scheduled, nodes.get(node));
  }

  /** Where the VM goes, from what each node holds (the VM's own share left out): linear in the nodes. */
  private Decision place(StoredVm vm) {
    return place(vm, Set.of());
  }

  /** The same among the nodes not in {@code avoid}. */
  private Decision place(StoredVm vm, Set<String> avoid) {
    List<NodeView> views = new ArrayList<>();
    for (StoredNode n : nodes.all()) {
      if (!avoid.contains(n.id())) {
        views.add(new NodeView(n.id(), n.state(), n.info()));
      }
    }
    Map<String, Long> memory = new HashMap<>();
    Map<String, Integer> count = new HashMap<>();
    records.usageByNode().forEach((node, usage) -> {
      memory.put(node, usage.memoryMib());
      count.put(node, usage.vms());
    });
    if (StatusFold.occupiesNode(vm.status())) {
      memory.computeIfPresent(vm.status().getNode(), (n, m) -> m - vm.spec().getMemoryMib());
      count.computeIfPresent(vm.status().getNode(), (n, c) -> c - 1);
    }
    // placement counts and checks the drivers of every device the VM will run: the cloud-init seed's too
    VmSpec runs = vm.spec().toBuilder().clearDevices().addAllDevices(CloudInitSeed.devicesOf(vm.spec())).build();
    return Placement.place(runs, DiskSources.basesOf(vm.spec()), NicRules.networksOf(vm.spec()), views, memory, count,
        vm.status().getNode().isEmpty() ? null : vm.status().getNode());
  }

  /** Sends the launch; its answer, or the agent's events meanwhile, move the VM on. */
  void launch(StoredVm vm, StoredNode node) {
    inFlight.launching(vm.id(), node.id());
    agents.launch(node, vm)
        .onSuccess(view -> {
          refusedLaunches.remove(vm.id());
          lackingImage.remove(vm.id());
          reports.onAnswer(vm.id(), node.id(), view);
        })
        .onFailure(e -> launchFailed(vm.id(), node, e))
        .onComplete(ar -> inFlight.launched(vm.id(), node.id()));
  }

  private void launchFailed(String vmId, StoredNode node, Throwable e) {
    if (e instanceof GrpcCallException gce && gce.status() == GrpcStatus.FAILED_PRECONDITION) {
      launchRefused(vmId, node, gce.serverMessage());
    } else if (e instanceof GrpcCallException gce && gce.status() == GrpcStatus.INTERNAL) {
      // the agent reported LAUNCH_FAILED itself; if that event was lost, record the failure here
      records.get(vmId).filter(now -> now.status().getPhase() != Phase.PHASE_FAILED).ifPresent(now -> {
        records.update(now.withStatus(now.status().toBuilder().setPhase(Phase.PHASE_FAILED).setReason("LaunchFailed")
            .setMessage(gce.serverMessage()).build(), records.clock().instant()),
            EventType.LAUNCH_FAILED, "LaunchFailed", gce.serverMessage());
        maybeRestart(vmId);
      });
    } else {
      dispatchFailed(vmId, "launch on node " + node.id() + " failed: " + Failures.describe(e));
    }
  }

  /**
   * The node cannot launch the VM as specified until something changes there (an image put in place):
   * the VM waits PENDING on that node with the reason in its status, and the launch is tried again after
   * the restart policy's back-off. One event (and one WARN) per cause, not per attempt.
   */
  private void launchRefused(String vmId, StoredNode node, String why) {
    StoredVm vm = records.get(vmId).orElse(null);
    if (vm == null || vm.desiredState() != DesiredState.RUNNING) {
      return;
    }
    int attempt = refusedLaunches.merge(vmId, 1, Integer::sum);
    Duration delay = Backoff.after(attempt - 1, maxBackoff);
    String reason = why.contains("does not exist") || why.contains("is not in this node's catalog") ? "ImageMissing"
        : "LaunchRefused";
    if (reason.equals("ImageMissing")) {
      lackingImage.computeIfAbsent(vmId, v -> new java.util.HashSet<>()).add(node.id());
    }
    String cause = "node " + node.id() + " refused the launch: " + why;
    StoredVm pending = vm.withStatus(vm.status().toBuilder().setPhase(Phase.PHASE_PENDING).setNode(node.id())
        .setReason(reason).setMessage(cause + " (attempt " + attempt + "; next in " + delay.toMillis() + " ms)")
        .clearProcesses().build(), records.clock().instant());
    if (reason.equals(vm.status().getReason()) && vm.status().getMessage().startsWith(cause + " (")) {
      records.write(pending);
    } else {
      LOG.warn("vm={} {}; retrying with back-off", vmId, cause);
      records.update(pending, EventType.DISPATCH_FAILED, reason, cause + "; retried with back-off");
    }
    inFlight.restartScheduled(vmId);
    timers.schedule(delay, () -> {
      inFlight.restartDue(vmId);
      StoredVm now = records.get(vmId).orElse(null);
      if (now == null || now.desiredState() != DesiredState.RUNNING || now.status().getPhase() != Phase.PHASE_PENDING
          || inFlight.busy(vmId)) {
        return;
      }
      StoredNode n = nodes.get(node.id());
      Set<String> lacking = lackingImage.getOrDefault(vmId, Set.of());
      if (!lacking.isEmpty() && place(now, lacking) instanceof Decision.Placed elsewhere) {
        LOG.info("vm={} node={} lacks its image; placing it on node {}", vmId, node.id(), elsewhere.nodeId());
        moveTo(now, elsewhere.nodeId(), "node " + node.id() + " lacks its image");
      } else if (n != null && n.state() == NodeState.NODE_STATE_READY && node.id().equals(now.status().getNode())) {
        launch(now, n); // quietly: no SCHEDULED event per attempt
      } else {
        schedule(vmId);
      }
    });
  }

  /** A command to the VM's node failed without an answer: say so; reconciliation tries again. */
  void dispatchFailed(String vmId, String message) {
    records.get(vmId).ifPresent(vm -> {
      LOG.warn("vm={} node={} {}; reconciliation retries", vmId, vm.status().getNode(), message);
      records.update(vm.withStatus(vm.status().toBuilder().setReason("DispatchFailed").setMessage(message).build(),
          records.clock().instant()), EventType.DISPATCH_FAILED, "DispatchFailed", message + "; it will be retried");
    });
  }

  /** Schedules the restart the VM's policy asks for after its run ended, if any and none is pending. */
  void maybeRestart(String vmId) {
    StoredVm vm = records.get(vmId).orElse(null);
    if (vm == null || inFlight.restartPending(vmId)) {
      return;
    }
    Optional<Restarts.Restart> restart = Restarts.next(vm, maxBackoff);
    if (restart.isEmpty()) {
      return;
    }
    Restarts.Restart r = restart.get();
    inFlight.restartScheduled(vmId);
    records.update(vm.withStatus(vm.status().toBuilder().setRestarts(r.attempt()).build(), records.clock().instant()),
        EventType.RESTART_SCHEDULED, "RestartScheduled", r.message());
    timers.schedule(r.delay(), () -> {
      inFlight.restartDue(vmId);
      records.get(vmId).filter(now -> now.desiredState() == DesiredState.RUNNING
          && (now.status().getPhase() == Phase.PHASE_FAILED || now.status().getPhase() == Phase.PHASE_STOPPED))
          .ifPresent(now -> schedule(vmId));
    });
  }

  /** The VM is gone: no back-off step is kept for it. */
  void forget(String vmId) {
    refusedLaunches.remove(vmId);
    lackingImage.remove(vmId);
  }
}
