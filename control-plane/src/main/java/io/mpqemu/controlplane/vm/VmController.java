package io.mpqemu.controlplane.vm;

import io.mpqemu.controlplane.ControlPlaneConfig;
import io.mpqemu.controlplane.dispatch.AgentClients;
import io.mpqemu.controlplane.events.EventLog;
import io.mpqemu.controlplane.nodes.NodeRegistry;
import io.mpqemu.controlplane.scheduling.Decision;
import io.mpqemu.controlplane.scheduling.NodeView;
import io.mpqemu.controlplane.scheduling.Placement;
import io.mpqemu.controlplane.store.Change;
import io.mpqemu.controlplane.store.StoreException;
import io.mpqemu.controlplane.store.StoreExecutor;
import io.mpqemu.controlplane.store.StoredNode;
import io.mpqemu.controlplane.store.StoredVm;
import io.mpqemu.controlplane.store.VmFilter;
import io.mpqemu.errors.Failures;
import io.mpqemu.grpc.GrpcCallException;
import io.mpqemu.spec.InvalidSpecException;
import io.mpqemu.spec.SpecValidator;
import io.mpqemu.v1.AgentVm;
import io.mpqemu.v1.DesiredState;
import io.mpqemu.v1.EventType;
import io.mpqemu.v1.GetConsoleLogResponse;
import io.mpqemu.v1.NodeHeartbeat;
import io.mpqemu.v1.NodeState;
import io.mpqemu.v1.Phase;
import io.mpqemu.v1.ProcessStatus;
import io.mpqemu.v1.RestartPolicy;
import io.mpqemu.v1.VmEvent;
import io.mpqemu.v1.VmRef;
import io.mpqemu.v1.VmSpec;
import io.mpqemu.v1.VmStatus;
import io.mpqemu.wire.Phases;
import io.mpqemu.wire.Timestamps;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.grpc.common.GrpcStatus;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.UUID;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The control plane's brain. It keeps every VM intent in memory, written through to the store in
 * order (a create is acknowledged only once it is durable), applies what agents report to each VM's
 * status, places VMs on nodes, dispatches commands, applies restart policies and reconciles intents
 * with what agents actually run. Every method runs on the control plane's event loop.
 */
public final class VmController {

  private static final Logger LOG = LoggerFactory.getLogger(VmController.class);
  private static final Set<Phase> ACTIVE = Set.of(Phase.PHASE_LAUNCHING, Phase.PHASE_RUNNING, Phase.PHASE_PAUSED,
      Phase.PHASE_STOPPING);

  private final Vertx vertx;
  private final ControlPlaneConfig config;
  private final StoreExecutor store;
  private final EventLog log;
  private final NodeRegistry nodes;
  private final AgentClients agents;
  private final Clock clock;

  private final TreeMap<String, StoredVm> vms = new TreeMap<>();
  private final Map<String, String> idsByName = new HashMap<>();
  private final Set<String> namesBeingCreated = new HashSet<>();
  /** Creates not yet durable, by request id: a retry that arrives meanwhile gets the same answer. */
  private final Map<String, Map.Entry<VmSpec, Future<StoredVm>>> requestsInFlight = new HashMap<>();
  /** Creates not yet durable, by owner: they count against the owner's quota meanwhile. */
  private final Map<String, List<VmSpec>> creatingByOwner = new HashMap<>();
  /** VMs with a command to their agent in flight: reconciliation leaves them alone. */
  private final Set<String> busy = new HashSet<>();
  /** VMs a back-off timer will launch again (restart policy, refused launch): nothing else launches them meanwhile. */
  private final Set<String> restartsPending = new HashSet<>();
  /** Launches in a row a node refused for want of what the spec names (an image), by VM: the back-off's step. */
  private final Map<String, Integer> refusedLaunches = new HashMap<>();
  /**
   * Launches in flight, VM id to the node called: that node speaks for the VM while it launches it,
   * even if the VM's placement changed meanwhile (the node was lost, the VM is PENDING again).
   */
  private final Map<String, String> launching = new HashMap<>();
  /**
   * VMs deleted lately (at most {@value #DELETED_KEPT}, for {@link #DELETED_TAIL}), by id: the node
   * each was on, and when. That node's last events about it (its VM_DELETED, which may arrive after the
   * delete) still go into the log; any other event about a VM id the store does not know does not.
   */
  private final Map<String, Map.Entry<String, Instant>> recentlyDeleted = new java.util.LinkedHashMap<>() {
    @Override
    protected boolean removeEldestEntry(Map.Entry<String, Map.Entry<String, Instant>> eldest) {
      return size() > DELETED_KEPT;
    }
  };
  private static final int DELETED_KEPT = 1024;
  private static final Duration DELETED_TAIL = Duration.ofMinutes(1);

  public VmController(Vertx vertx, ControlPlaneConfig config, StoreExecutor store, EventLog log, NodeRegistry nodes,
      AgentClients agents, Clock clock) {
    this.vertx = vertx;
    this.config = config;
    this.store = store;
    this.log = log;
    this.nodes = nodes;
    this.agents = agents;
    this.clock = clock;
  }

  /** Loads every VM and node from the store. */
  public Future<Void> load() {
    return store.call(st -> {
      List<StoredVm> all = new ArrayList<>();
      String after = "";
      while (true) {
        List<StoredVm> page = st.listVms(VmFilter.all(), after, 1000);
        all.addAll(page);
        if (page.size() < 1000) {
          return Map.entry(all, st.nodes());
        }
        after = page.get(page.size() - 1).id();
      }
    }).map(loaded -> {
      for (StoredVm vm : loaded.getKey()) {
        put(vm);
      }
      nodes.load(loaded.getValue(), clock.instant());
      LOG.info("loaded {} VM(s) and {} node(s); event log at seq {}", vms.size(), loaded.getValue().size(), log.lastSeq());
      return null;
    });
  }

  // ------------------------------------------------------------------ API: intents

  /**
   * Stores a new intent for {@code owner} (the caller's identity; "" for none, which no quota counts),
   * once the spec is valid, its name free and the owner within its quota.
   */
  public Future<StoredVm> create(VmSpec spec, DesiredState desired, String requestId, String owner) {
    try {
      SpecValidator.validate(spec, config.limits());
    } catch (InvalidSpecException e) {
      return failed(GrpcStatus.INVALID_ARGUMENT, e.getMessage());
    }
    if (!requestId.isEmpty() && !requestId.matches("^[A-Za-z0-9._:-]{1,128}$")) {
      return failed(GrpcStatus.INVALID_ARGUMENT, "request_id must be 1 to 128 characters of [A-Za-z0-9._:-]");
    }
    DesiredState want = desired == DesiredState.DESIRED_STATE_UNSPECIFIED ? DesiredState.RUNNING : desired;
    if (want == DesiredState.UNRECOGNIZED) {
      return failed(GrpcStatus.INVALID_ARGUMENT, "desired_state must be RUNNING or STOPPED");
    }
    Map.Entry<VmSpec, Future<StoredVm>> inFlight = requestId.isEmpty() ? null : requestsInFlight.get(requestId);
    if (inFlight != null) {
      return inFlight.getKey().equals(spec) ? inFlight.getValue()
          : failed(GrpcStatus.ALREADY_EXISTS, "request_id " + requestId + " is being used for another spec; use a new"
              + " request_id for a new VM");
    }
    Future<String> priorRequest = requestId.isEmpty() ? Future.succeededFuture(null)
        : store.call(st -> st.vmIdForRequest(requestId).orElse(null));
    return priorRequest.compose(priorId -> {
      if (priorId != null) {
        StoredVm prior = vms.get(priorId);
        if (prior == null) {
          return failed(GrpcStatus.ALREADY_EXISTS, "request_id " + requestId + " created VM " + priorId
              + ", which has been deleted since; use a new request_id");
        }
        if (!prior.spec().equals(spec)) {
          return failed(GrpcStatus.ALREADY_EXISTS, "request_id " + requestId + " was used for VM '" + prior.name()
              + "' with another spec; use a new request_id for a new VM");
        }
        return Future.succeededFuture(prior);
      }
      Map.Entry<VmSpec, Future<StoredVm>> racing = requestId.isEmpty() ? null : requestsInFlight.get(requestId);
      if (racing != null && racing.getKey().equals(spec)) {
        return racing.getValue(); // a retry of a create still being written
      }
      if (idsByName.containsKey(spec.getName()) || namesBeingCreated.contains(spec.getName())) {
        return failed(GrpcStatus.ALREADY_EXISTS, "a VM named '" + spec.getName() + "' already exists; choose another name or delete it");
      }
      Optional<String> overQuota = quotaRefusal(owner, spec);
      if (overQuota.isPresent()) {
        LOG.info("refused to create VM {} for {}: {}", spec.getName(), owner, overQuota.get());
        return failed(GrpcStatus.RESOURCE_EXHAUSTED, overQuota.get());
      }
      Future<StoredVm> created = insert(spec, want, requestId, owner);
      if (!requestId.isEmpty() && !created.isComplete()) {
        requestsInFlight.put(requestId, Map.entry(spec, created));
        created.onComplete(ar -> requestsInFlight.remove(requestId));
      }
      return created;
    });
  }

  /** Why {@code owner} may not create {@code spec} now: its VMs, stored and being stored, count. */
  private Optional<String> quotaRefusal(String owner, VmSpec spec) {
    if (owner.isEmpty() || config.quota().equals(Quota.NONE)) {
      return Optional.empty();
    }
    int count = 0;
    long memory = 0;
    for (StoredVm vm : vms.values()) {
      if (vm.owner().equals(owner)) {
        count++;
        memory += vm.spec().getMemoryMib();
      }
    }
    for (VmSpec pending : creatingByOwner.getOrDefault(owner, List.of())) {
      count++;
      memory += pending.getMemoryMib();
    }
    return config.quota().refusal(owner, count, memory, spec.getMemoryMib());
  }

  private Future<StoredVm> insert(VmSpec spec, DesiredState desired, String requestId, String owner) {
    Instant now = clock.instant();
    String id = UUID.randomUUID().toString();
    VmStatus status = VmStatus.newBuilder().setPhase(desired == DesiredState.RUNNING ? Phase.PHASE_PENDING : Phase.PHASE_STOPPED)
        .setReason("Accepted").setMessage(desired == DesiredState.RUNNING ? "waiting to be placed" : "created stopped").build();
    StoredVm vm = new StoredVm(id, spec, desired, 1, status, now, now, owner);
    Change.Builder change = Change.builder().insert(vm)
        .event(event(vm, EventType.ACCEPTED, "Accepted", "intent stored, desired state " + desired));
    if (!requestId.isEmpty()) {
      change.request(requestId, id);
    }
    namesBeingCreated.add(spec.getName());
    creatingByOwner.computeIfAbsent(owner, o -> new ArrayList<>()).add(spec);
    return commitNow(change.build()).map(events -> {
      StoredVm stored = withLastSeq(vm, events);
      put(stored);
      if (desired == DesiredState.RUNNING) {
        schedule(id);
      }
      return stored;
    }).recover(e -> {
      // the store's own sentences name the clash; a constraint SQLite enforced has none, only SQL
      // text, and means memory and store disagree: an internal error, whose detail goes to the log
      if (e instanceof StoreException se && se.kind() == StoreException.Kind.CONFLICT && se.getCause() == null) {
        return failed(GrpcStatus.ALREADY_EXISTS, se.getMessage());
      }
      return Future.failedFuture(e);
    }).eventually(() -> {
      namesBeingCreated.remove(spec.getName());
      creatingByOwner.computeIfPresent(owner, (o, list) -> {
        list.remove(spec);
        return list.isEmpty() ? null : list;
      });
      return Future.succeededFuture();
    });
  }

  public Future<StoredVm> start(VmRef ref) {
    return find(ref).compose(vm -> {
      Phase phase = vm.status().getPhase();
      if (vm.desiredState() == DesiredState.RUNNING && phase != Phase.PHASE_STOPPED && phase != Phase.PHASE_FAILED) {
        return failed(GrpcStatus.FAILED_PRECONDITION, "VM '" + vm.name() + "' is already " + Phases.name(phase)
            + " with desired state RUNNING");
      }
      if (phase == Phase.PHASE_STOPPING || vm.desiredState() == DesiredState.STOPPED && ACTIVE.contains(phase)) {
        return failed(GrpcStatus.FAILED_PRECONDITION, "VM '" + vm.name() + "' is stopping; start it once it is stopped");
      }
      StoredVm next = vm.withDesiredState(DesiredState.RUNNING, clock.instant());
      if (phase == Phase.PHASE_STOPPED || phase == Phase.PHASE_FAILED) {
        next = next.withStatus(next.status().toBuilder().setPhase(Phase.PHASE_PENDING).setReason("StartRequested")
            .setMessage("waiting to be placed").build(), clock.instant());
      }
      return update(next, EventType.START_REQUESTED, "StartRequested", "desired state set to RUNNING").map(v -> {
        schedule(v.id());
        return v;
      });
    });
  }

  public Future<StoredVm> stop(VmRef ref, int timeoutSeconds, boolean force) {
    return find(ref).compose(vm -> {
      Phase phase = vm.status().getPhase();
      if (vm.desiredState() == DesiredState.STOPPED && (phase == Phase.PHASE_STOPPED || phase == Phase.PHASE_FAILED)) {
        return failed(GrpcStatus.FAILED_PRECONDITION, "VM '" + vm.name() + "' is already " + Phases.name(phase));
      }
      StoredVm next = vm.withDesiredState(DesiredState.STOPPED, clock.instant());
      boolean onNode = !next.status().getNode().isEmpty()
          && (ACTIVE.contains(phase) || phase == Phase.PHASE_SCHEDULED || phase == Phase.PHASE_UNKNOWN);
      if (!onNode) {
        next = next.withStatus(next.status().toBuilder().setPhase(Phase.PHASE_STOPPED).setReason("Stopped")
            .setMessage("stopped before it was launched").build(), clock.instant());
      } else if (phase == Phase.PHASE_UNKNOWN) {
        // the node is out of reach and may still run it: reconciliation stops it when the node returns
        next = next.withStatus(next.status().toBuilder().setMessage("stop pending until node "
            + next.status().getNode() + " is back").build(), clock.instant());
      }
      return update(next, EventType.STOP_REQUESTED, "StopRequested", "desired state set to STOPPED"
          + (force ? ", forced" : "")).map(v -> {
            if (onNode) {
              dispatchStop(v, timeoutSeconds, force);
            }
            return v;
          });
    });
  }

  public Future<Void> delete(VmRef ref) {
    return find(ref).compose(vm -> {
      String node = vm.status().getNode();
      Future<Void> offNode = Future.succeededFuture();
      if (!node.isEmpty()) {
        StoredNode n = nodes.get(node);
        if (n == null || n.state() == NodeState.NODE_STATE_LOST) {
          if (ACTIVE.contains(vm.status().getPhase())) {
            return failed(GrpcStatus.UNAVAILABLE, "VM '" + vm.name() + "' runs on node " + node
                + ", which cannot be reached; delete it once the node is back");
          }
        } else {
          busy.add(vm.id());
          offNode = agents.delete(AgentClients.Target.of(n.id(), n.endpoint()), vm.id(), true).recover(e -> notFoundIsFine(e))
              .eventually(() -> {
                busy.remove(vm.id());
                return Future.succeededFuture();
              });
        }
      }
      return offNode.compose(v -> {
        StoredVm gone = vm.withStatus(vm.status().toBuilder().setPhase(Phase.PHASE_DELETED).setReason("Deleted")
            .setMessage("deleted; its events stay in the log").build(), clock.instant());
        Change change = Change.builder().delete(vm.id())
            .event(event(gone, EventType.VM_DELETED, "Deleted", "VM deleted; its events stay in the log")).build();
        remove(vm);
        if (!node.isEmpty()) {
          recentlyDeleted.put(vm.id(), Map.entry(node, clock.instant()));
        }
        return commit(change).mapEmpty();
      });
    });
  }

  // ------------------------------------------------------------------ API: reads

  public Future<StoredVm> get(VmRef ref) {
    return find(ref);
  }

  /** A page of VMs ordered by id, after {@code afterId}. */
  public List<StoredVm> list(VmFilter filter, String afterId, int limit) {
    List<StoredVm> page = new ArrayList<>();
    for (StoredVm vm : vms.tailMap(afterId, false).values()) {
      if (matches(vm, filter)) {
        page.add(vm);
        if (page.size() == limit) {
          break;
        }
      }
    }
    return page;
  }

  public Future<GetConsoleLogResponse> console(VmRef ref, int maxBytes) {
    return find(ref).compose(vm -> {
      String node = vm.status().getNode();
      if (node.isEmpty()) {
        return failed(GrpcStatus.FAILED_PRECONDITION, "VM '" + vm.name() + "' has not been placed on a node yet");
      }
      StoredNode n = nodes.get(node);
      if (n == null || n.state() == NodeState.NODE_STATE_LOST) {
        return failed(GrpcStatus.UNAVAILABLE, "node " + node + " of VM '" + vm.name() + "' cannot be reached");
      }
      return agents.console(AgentClients.Target.of(n.id(), n.endpoint()), vm.id(), maxBytes);
    });
  }

  public int count() {
    return vms.size();
  }

  public Map<Phase, Integer> countByPhase() {
    Map<Phase, Integer> counts = new TreeMap<>();
    for (StoredVm vm : vms.values()) {
      counts.merge(vm.status().getPhase(), 1, Integer::sum);
    }
    return counts;
  }

  // ------------------------------------------------------------------ what agents report

  /**
   * An event an agent published: recorded in the log, and applied to the VM's status, when the node
   * that sent it speaks for that VM: the VM is placed on that node, or this control plane is launching
   * it there now. Anything else is dropped (no state change, no row), and so is an event about a VM id
   * the store does not know: a node may not move another node's VM to itself, nor fill the log. Only
   * the node a VM was just deleted from may still report its end (a row, no VM). Nodes report the VMs
   * they run that the store does not know through ListVms, where reconciliation stops and removes them.
   * Answers why the event was dropped, or empty when it was applied or recorded.
   */
  public Optional<DroppedEvent> onAgentEvent(VmEvent e) {
    String sender = e.getNode();
    String from = sender.isEmpty() ? "naming no node" : "of node " + plain(sender);
    StoredVm vm = vms.get(e.getVmId());
    if (vm == null) {
      Map.Entry<String, Instant> deleted = recentlyDeleted.get(e.getVmId());
      if (deleted != null && !sender.isEmpty() && sender.equals(deleted.getKey())
          && Duration.between(deleted.getValue(), clock.instant()).compareTo(DELETED_TAIL) < 0) {
        // the node it was deleted from, reporting its end (its VM_DELETED often comes after the delete)
        commit(Change.builder().event(e.toBuilder().setSeq(0).build()).build());
        return Optional.empty();
      }
      return Optional.of(new DroppedEvent(DroppedEvent.Reason.UNKNOWN_VM, sender, "a " + e.getType() + " event " + from
          + " about VM " + quote(e.getVmId()) + ", which the control plane does not know (deleted, or"
          + " never created here); should the node run it, reconciliation removes it there"));
    }
    String placed = vm.status().getNode();
    if (sender.isEmpty() || !sender.equals(placed) && !sender.equals(launching.get(vm.id()))) {
      return Optional.of(new DroppedEvent(DroppedEvent.Reason.OTHER_NODES_VM, sender, "a " + e.getType() + " event " + from
          + " about VM " + vm.id() + " ('" + vm.name() + "'), which is placed on "
          + (placed.isEmpty() ? "no node" : "node " + placed) + (launching.containsKey(vm.id())
              ? " and being launched on node " + launching.get(vm.id()) : "") + "; a node speaks only for its own VMs"));
    }
    VmStatus.Builder status = vm.status().toBuilder().setPhase(e.getPhase()).setNode(e.getNode())
        .setReason(e.getReason()).setMessage(e.getMessage());
    if (e.getType() == EventType.LAUNCH_STARTED) {
      status.clearProcesses();
    }
    if (e.hasProcess()) {
      upsertProcess(status, e.getProcess());
    }
    StoredVm next = vm.withStatus(status.build(), clock.instant());
    put(next);
    commit(Change.builder().update(next).event(e.toBuilder().setSeq(0).build()).build());
    if (e.getType() == EventType.VM_FAILED || e.getType() == EventType.LAUNCH_FAILED
        || e.getType() == EventType.VM_STOPPED || e.getType() == EventType.LAUNCH_ABANDONED
        || e.getType() == EventType.LOST_WHILE_DETACHED) {
      maybeRestart(next.id());
    }
    return Optional.empty();
  }

  public void onHeartbeat(NodeHeartbeat beat) {
    NodeRegistry.Transition t = nodes.heartbeat(beat, clock.instant());
    if (t != null) {
      nodeChanged(t);
    }
  }

  /** Called periodically: nodes that went silent become NOT_READY, then LOST. */
  public void checkNodes() {
    for (NodeRegistry.Transition t : nodes.check(clock.instant())) {
      nodeChanged(t);
    }
  }

  private void nodeChanged(NodeRegistry.Transition t) {
    StoredNode n = t.node();
    EventType type = switch (t.to()) {
      case NODE_STATE_READY -> EventType.NODE_READY;
      case NODE_STATE_NOT_READY -> EventType.NODE_NOT_READY;
      default -> EventType.NODE_LOST;
    };
    String message = switch (t.to()) {
      case NODE_STATE_READY -> "node " + n.id() + " is ready at " + n.endpoint() + " (" + n.info().getAccelerator() + ", "
          + n.info().getCapacity().getMemoryMib() + " MiB)";
      case NODE_STATE_NOT_READY -> "no heartbeat from node " + n.id() + " for " + config.notReadyAfter().toSeconds() + " s";
      default -> "no heartbeat from node " + n.id() + " for " + config.lostAfter().toSeconds() + " s; its VMs are UNKNOWN until it returns";
    };
    LOG.info("node={} {} -> {}: {}", n.id(), t.from(), t.to(), message);
    VmEvent event = VmEvent.newBuilder().setNode(n.id()).setType(type).setReason(reasonOf(type)).setMessage(message)
        .setTime(Timestamps.of(clock.instant())).build();
    Change.Builder change = Change.builder().event(event);
    if (t.to() == NodeState.NODE_STATE_LOST) {
      for (StoredVm vm : List.copyOf(vms.values())) {
        if (vm.status().getNode().equals(n.id()) && vm.status().getPhase() == Phase.PHASE_SCHEDULED) {
          // never launched there: place it again elsewhere
          StoredVm pending = vm.withStatus(vm.status().toBuilder().setPhase(Phase.PHASE_PENDING).setNode("")
              .setReason("NodeLost").setMessage("node " + n.id() + " was lost before the VM was launched there; placing it again")
              .build(), clock.instant());
          put(pending);
          change.update(pending);
        } else if (vm.status().getNode().equals(n.id()) && ACTIVE.contains(vm.status().getPhase())) {
          StoredVm unknown = vm.withStatus(vm.status().toBuilder().setPhase(Phase.PHASE_UNKNOWN).setReason("NodeLost")
              .setMessage("node " + n.id() + " is lost; the VM may still run there").build(), clock.instant());
          put(unknown);
          change.update(unknown);
        }
      }
    }
    store.call(st -> {
      st.putNode(n);
      return null;
    });
    commit(change.build());
    if (t.to() == NodeState.NODE_STATE_READY) {
      reconcileNode(n);
    }
    if (t.to() == NodeState.NODE_STATE_READY || t.to() == NodeState.NODE_STATE_LOST) {
      schedulePending();
    }
  }

  // ------------------------------------------------------------------ placement and dispatch

  private void schedule(String vmId) {
    StoredVm vm = vms.get(vmId);
    if (vm == null || vm.desiredState() != DesiredState.RUNNING || busy.contains(vmId)) {
      return;
    }
    Phase phase = vm.status().getPhase();
    if (phase != Phase.PHASE_PENDING && phase != Phase.PHASE_FAILED && phase != Phase.PHASE_STOPPED
        && phase != Phase.PHASE_SCHEDULED) {
      return;
    }
    Decision decision = place(vm);
    if (decision instanceof Decision.Unschedulable u) {
      if (!u.message().equals(vm.status().getMessage()) || phase != Phase.PHASE_PENDING) {
        StoredVm pending = vm.withStatus(vm.status().toBuilder().setPhase(Phase.PHASE_PENDING).setNode("")
            .setReason(u.reason()).setMessage(u.message()).build(), clock.instant());
        update(pending, EventType.UNSCHEDULABLE, u.reason(), u.message());
      }
      return;
    }
    String node = ((Decision.Placed) decision).nodeId();
    StoredVm scheduled = vm.withStatus(vm.status().toBuilder().setPhase(Phase.PHASE_SCHEDULED).setNode(node)
        .setReason("Scheduled").setMessage("placed on node " + node).build(), clock.instant());
    update(scheduled, EventType.SCHEDULED, "Scheduled", "placed on node " + node);
    launch(scheduled, nodes.get(node));
  }

  private Decision place(StoredVm vm) {
    List<NodeView> views = new ArrayList<>();
    for (StoredNode n : nodes.all()) {
      views.add(new NodeView(n.id(), n.state(), n.info()));
    }
    Map<String, Long> memory = new HashMap<>();
    Map<String, Integer> count = new HashMap<>();
    for (StoredVm other : vms.values()) {
      Phase p = other.status().getPhase();
      if (!other.id().equals(vm.id()) && !other.status().getNode().isEmpty()
          && (ACTIVE.contains(p) || p == Phase.PHASE_SCHEDULED)) {
        memory.merge(other.status().getNode(), (long) other.spec().getMemoryMib(), Long::sum);
        count.merge(other.status().getNode(), 1, Integer::sum);
      }
    }
    return Placement.place(vm.spec(), views, memory, count, vm.status().getNode().isEmpty() ? null : vm.status().getNode());
  }

  private void schedulePending() {
    for (StoredVm vm : List.copyOf(vms.values())) {
      if (vm.desiredState() == DesiredState.RUNNING && vm.status().getPhase() == Phase.PHASE_PENDING
          && !restartsPending.contains(vm.id())) {
        schedule(vm.id());
      }
    }
  }

  private void launch(StoredVm vm, StoredNode node) {
    busy.add(vm.id());
    launching.put(vm.id(), node.id());
    agents.launch(AgentClients.Target.of(node.id(), node.endpoint()), vm.id(), vm.spec(), vm.revision())
        .onSuccess(agentVm -> {
          refusedLaunches.remove(vm.id());
          applyAgentView(vm.id(), node.id(), agentVm);
        })
        .onFailure(e -> {
          if (e instanceof GrpcCallException gce && gce.status() == GrpcStatus.FAILED_PRECONDITION) {
            launchRefused(vm.id(), node, gce.serverMessage());
          } else if (e instanceof GrpcCallException gce && gce.status() == GrpcStatus.INTERNAL) {
            // the agent reported LAUNCH_FAILED itself; if that event was lost, record the failure here
            StoredVm now = vms.get(vm.id());
            if (now != null && now.status().getPhase() != Phase.PHASE_FAILED) {
              update(now.withStatus(now.status().toBuilder().setPhase(Phase.PHASE_FAILED).setReason("LaunchFailed")
                  .setMessage(gce.serverMessage()).build(), clock.instant()), EventType.LAUNCH_FAILED, "LaunchFailed",
                  gce.serverMessage());
              maybeRestart(vm.id());
            }
          } else {
            dispatchFailed(vm.id(), "launch on node " + node.id() + " failed: " + Failures.describe(e));
          }
        })
        .onComplete(ar -> {
          busy.remove(vm.id());
          launching.remove(vm.id(), node.id());
        });
  }

  /**
   * The node cannot launch the VM as specified until something changes there (an image put in place):
   * the VM waits PENDING on that node with the reason in its status, and the launch is tried again after
   * the restart policy's back-off. One event (and one WARN) per cause, not per attempt.
   */
  private void launchRefused(String vmId, StoredNode node, String why) {
    StoredVm vm = vms.get(vmId);
    if (vm == null || vm.desiredState() != DesiredState.RUNNING) {
      return;
    }
    int attempt = refusedLaunches.merge(vmId, 1, Integer::sum);
    long delay = backoff(attempt - 1);
    String reason = why.contains("does not exist") ? "ImageMissing" : "LaunchRefused";
    String cause = "node " + node.id() + " refused the launch: " + why;
    StoredVm pending = vm.withStatus(vm.status().toBuilder().setPhase(Phase.PHASE_PENDING).setNode(node.id())
        .setReason(reason).setMessage(cause + " (attempt " + attempt + "; next in " + delay + " ms)").clearProcesses()
        .build(), clock.instant());
    if (reason.equals(vm.status().getReason()) && vm.status().getMessage().startsWith(cause + " (")) {
      put(pending);
      commit(Change.builder().update(pending).build());
    } else {
      LOG.warn("vm={} {}; retrying with back-off", vmId, cause);
      update(pending, EventType.DISPATCH_FAILED, reason, cause + "; retried with back-off");
    }
    restartsPending.add(vmId);
    vertx.setTimer(delay, t -> {
      restartsPending.remove(vmId);
      StoredVm now = vms.get(vmId);
      StoredNode n = nodes.get(node.id());
      if (now == null || now.desiredState() != DesiredState.RUNNING || now.status().getPhase() != Phase.PHASE_PENDING
          || busy.contains(vmId)) {
        return;
      }
      if (n != null && n.state() == NodeState.NODE_STATE_READY && node.id().equals(now.status().getNode())) {
        launch(now, n); // quietly: no SCHEDULED event per attempt
      } else {
        schedule(vmId);
      }
    });
  }

  private void dispatchStop(StoredVm vm, int timeoutSeconds, boolean force) {
    StoredNode node = nodes.get(vm.status().getNode().isEmpty() ? null : vm.status().getNode());
    if (node == null || node.state() == NodeState.NODE_STATE_LOST) {
      return; // reconciliation stops it when the node returns
    }
    busy.add(vm.id());
    agents.stop(AgentClients.Target.of(node.id(), node.endpoint()), vm.id(), timeoutSeconds, force)
        .onSuccess(agentVm -> applyAgentView(vm.id(), node.id(), agentVm))
        .onFailure(e -> {
          if (e instanceof GrpcCallException gce && gce.status() == GrpcStatus.NOT_FOUND) {
            markStopped(vm.id(), "the node no longer has it");
          } else {
            dispatchFailed(vm.id(), "stop on node " + node.id() + " failed: " + Failures.describe(e));
          }
        })
        .onComplete(ar -> {
          busy.remove(vm.id());
          // a start that came once the VM was stopped, while this call's answer was on its way
          StoredVm now = vms.get(vm.id());
          if (now != null && now.desiredState() == DesiredState.RUNNING) {
            schedule(vm.id());
          }
        });
  }

  private void dispatchFailed(String vmId, String message) {
    StoredVm vm = vms.get(vmId);
    if (vm == null) {
      return;
    }
    LOG.warn("vm={} node={} {}; reconciliation retries", vmId, vm.status().getNode(), message);
    update(vm.withStatus(vm.status().toBuilder().setReason("DispatchFailed").setMessage(message).build(), clock.instant()),
        EventType.DISPATCH_FAILED, "DispatchFailed", message + "; it will be retried");
  }

  private void markStopped(String vmId, String why) {
    StoredVm vm = vms.get(vmId);
    if (vm == null || vm.status().getPhase() == Phase.PHASE_STOPPED) {
      return;
    }
    update(vm.withStatus(vm.status().toBuilder().setPhase(Phase.PHASE_STOPPED).setReason("Stopped").setMessage(why)
        .clearProcesses().build(), clock.instant()), EventType.RECONCILED, "Stopped", why);
  }

  /** The agent's answer is the truth about the VM on that node: bring the status in line, quietly. */
  private void applyAgentView(String vmId, String nodeId, AgentVm agentVm) {
    StoredVm vm = vms.get(vmId);
    if (vm == null) {
      return;
    }
    VmStatus.Builder s = vm.status().toBuilder().setNode(nodeId).clearProcesses().addAllProcesses(agentVm.getProcessesList())
        .setConfinement(agentVm.getConfinement());
    if (agentVm.getPhase() != vm.status().getPhase()) {
      s.setPhase(agentVm.getPhase()).setReason(agentVm.getReason()).setMessage(agentVm.getMessage());
      StoredVm next = vm.withStatus(s.build(), clock.instant());
      update(next, EventType.RECONCILED, "StatusFromNode", "node " + nodeId + " reports the VM "
          + Phases.name(agentVm.getPhase()) + (agentVm.getMessage().isEmpty() ? "" : ": " + agentVm.getMessage()));
    } else {
      StoredVm next = vm.withStatus(s.build(), clock.instant());
      put(next);
      commit(Change.builder().update(next).build());
    }
  }

  // ------------------------------------------------------------------ restart policy

  private void maybeRestart(String vmId) {
    StoredVm vm = vms.get(vmId);
    if (vm == null || vm.desiredState() != DesiredState.RUNNING || restartsPending.contains(vmId)) {
      return;
    }
    RestartPolicy policy = vm.spec().getRestartPolicy();
    Phase phase = vm.status().getPhase();
    boolean restart = phase == Phase.PHASE_FAILED && (policy == RestartPolicy.ON_FAILURE || policy == RestartPolicy.ALWAYS)
        || phase == Phase.PHASE_STOPPED && policy == RestartPolicy.ALWAYS;
    if (!restart) {
      return;
    }
    int restarts = vm.status().getRestarts();
    long delay = backoff(restarts);
    restartsPending.add(vmId);
    String message = "restart " + (restarts + 1) + " (restart_policy " + policy + ") in " + delay + " ms";
    update(vm.withStatus(vm.status().toBuilder().setRestarts(restarts + 1).build(), clock.instant()),
        EventType.RESTART_SCHEDULED, "RestartScheduled", message);
    vertx.setTimer(delay, t -> {
      restartsPending.remove(vmId);
      StoredVm now = vms.get(vmId);
      if (now != null && now.desiredState() == DesiredState.RUNNING
          && (now.status().getPhase() == Phase.PHASE_FAILED || now.status().getPhase() == Phase.PHASE_STOPPED)) {
        schedule(vmId);
      }
    });
  }

  /** 1 s, 2 s, 4 s ... after {@code n} earlier attempts, up to the configured maximum. */
  private long backoff(int n) {
    return Math.min(config.restartBackoffMax().toMillis(), 1000L << Math.min(n, 16));
  }

  // ------------------------------------------------------------------ reconciliation

  /** Compares every READY node's actual VMs with the intents, and repairs the difference. */
  public void reconcile() {
    for (StoredNode n : nodes.all()) {
      if (n.state() == NodeState.NODE_STATE_READY) {
        reconcileNode(n);
      }
    }
    schedulePending();
  }

  private void reconcileNode(StoredNode node) {
    agents.list(AgentClients.Target.of(node.id(), node.endpoint())).onSuccess(actual -> {
      Map<String, AgentVm> byId = new HashMap<>();
      for (AgentVm a : actual) {
        byId.put(a.getVmId(), a);
      }
      for (StoredVm vm : List.copyOf(vms.values())) {
        if (!vm.status().getNode().equals(node.id()) || busy.contains(vm.id()) || restartsPending.contains(vm.id())) {
          continue;
        }
        AgentVm a = byId.remove(vm.id());
        reconcileVm(vm, node, a);
      }
      for (AgentVm orphan : byId.values()) {
        if (vms.containsKey(orphan.getVmId()) || busy.contains(orphan.getVmId())) {
          continue; // placed elsewhere since, or being handled
        }
        removeOrphan(node, orphan);
      }
    }).onFailure(e -> LOG.warn("node={} reconciliation could not list VMs: {}", node.id(), Failures.describe(e)));
  }

  private void reconcileVm(StoredVm vm, StoredNode node, AgentVm actual) {
    boolean wantRunning = vm.desiredState() == DesiredState.RUNNING;
    if (actual == null) {
      if (wantRunning && vm.status().getPhase() != Phase.PHASE_FAILED && vm.status().getPhase() != Phase.PHASE_STOPPED) {
        LOG.info("vm={} node={} should run but the node does not have it; launching it", vm.id(), node.id());
        StoredVm relaunch = vm.withStatus(vm.status().toBuilder().setPhase(Phase.PHASE_SCHEDULED).setReason("Reconciled")
            .setMessage("node " + node.id() + " did not have it; launching it again").clearProcesses().build(), clock.instant());
        update(relaunch, EventType.RECONCILED, "Relaunched", relaunch.status().getMessage());
        launch(relaunch, node);
      } else if (!wantRunning && vm.status().getPhase() != Phase.PHASE_STOPPED) {
        markStopped(vm.id(), "node " + node.id() + " does not run it");
      } else if (wantRunning) {
        // FAILED or STOPPED, and the node forgot it (a failed launch): only the restart policy brings it
        // back, and its timer lives in memory; asking again here survives a lost timer or a restart
        maybeRestart(vm.id());
      }
      return;
    }
    boolean active = ACTIVE.contains(actual.getPhase());
    if (!wantRunning && active) {
      LOG.info("vm={} node={} runs but should not; stopping it", vm.id(), node.id());
      dispatchStop(vm, 0, false);
      return;
    }
    if (actual.getPhase() != vm.status().getPhase()
        || actual.getProcessesCount() != vm.status().getProcessesCount()) {
      applyAgentView(vm.id(), node.id(), actual);
    } else {
      refreshFigures(vm, actual);
    }
    if (wantRunning && !active) {
      maybeRestart(vm.id());
    }
  }

  /**
   * Same phase, same number of processes: the agent's processes (their CPU seconds and memory move
   * all the time) and confinement go into the status served from memory, without a store write at
   * every reconciliation; the next change that is written stores them with it.
   */
  private void refreshFigures(StoredVm vm, AgentVm actual) {
    VmStatus fresh = vm.status().toBuilder().clearProcesses().addAllProcesses(actual.getProcessesList())
        .setConfinement(actual.getConfinement()).build();
    if (!fresh.equals(vm.status())) {
      put(new StoredVm(vm.id(), vm.spec(), vm.desiredState(), vm.revision(), fresh, vm.createdAt(), vm.updatedAt(),
          vm.owner()));
    }
  }

  private void removeOrphan(StoredNode node, AgentVm orphan) {
    LOG.info("vm={} node={} is not in the store; stopping and removing it from the node", orphan.getVmId(), node.id());
    busy.add(orphan.getVmId());
    agents.delete(AgentClients.Target.of(node.id(), node.endpoint()), orphan.getVmId(), true).recover(this::notFoundIsFine)
        .onSuccess(v -> commit(Change.builder().event(VmEvent.newBuilder().setVmId(orphan.getVmId())
            .setVmName(orphan.getSpec().getName()).setNode(node.id()).setType(EventType.RECONCILED)
            .setPhase(Phase.PHASE_DELETED).setReason("OrphanRemoved")
            .setMessage("node " + node.id() + " ran a VM the store does not know; it was stopped and removed")
            .setTime(Timestamps.of(clock.instant())).build()).build()))
        .onFailure(e -> LOG.warn("vm={} node={} could not remove an orphan: {}", orphan.getVmId(), node.id(), Failures.describe(e)))
        .onComplete(ar -> busy.remove(orphan.getVmId()));
  }

  // ------------------------------------------------------------------ state

  private Future<StoredVm> update(StoredVm next, EventType type, String reason, String message) {
    put(next);
    return commit(Change.builder().update(next).event(event(next, type, reason, message)).build())
        .map(events -> vms.getOrDefault(next.id(), next));
  }

  /** Commits in order; published events reach subscribers, and each VM's last event seq is kept. */
  private Future<List<VmEvent>> commit(Change change) {
    return commitNow(change).onFailure(e -> LOG.error("cannot record a change: {}", Failures.describe(e)));
  }

  private Future<List<VmEvent>> commitNow(Change change) {
    return store.call(st -> st.commit(change)).map(events -> {
      for (VmEvent e : events) {
        StoredVm vm = vms.get(e.getVmId());
        if (vm != null) {
          put(withLastSeq(vm, List.of(e)));
        }
      }
      log.published(events);
      return events;
    });
  }

  private static StoredVm withLastSeq(StoredVm vm, List<VmEvent> events) {
    long seq = vm.status().getLastEventSeq();
    for (VmEvent e : events) {
      if (e.getVmId().equals(vm.id())) {
        seq = Math.max(seq, e.getSeq());
      }
    }
    return new StoredVm(vm.id(), vm.spec(), vm.desiredState(), vm.revision(),
        vm.status().toBuilder().setLastEventSeq(seq).build(), vm.createdAt(), vm.updatedAt(), vm.owner());
  }

  private void put(StoredVm vm) {
    StoredVm before = vms.put(vm.id(), vm);
    if (before != null && !before.name().equals(vm.name())) {
      idsByName.remove(before.name());
    }
    idsByName.put(vm.name(), vm.id());
  }

  private void remove(StoredVm vm) {
    vms.remove(vm.id());
    idsByName.remove(vm.name(), vm.id());
    busy.remove(vm.id());
    refusedLaunches.remove(vm.id());
    launching.remove(vm.id());
  }

  private Future<StoredVm> find(VmRef ref) {
    if (ref.getId().isEmpty() == ref.getName().isEmpty()) {
      return failed(GrpcStatus.INVALID_ARGUMENT, "name the VM by exactly one of vm.id and vm.name");
    }
    String id = ref.getId().isEmpty() ? idsByName.get(ref.getName()) : ref.getId();
    StoredVm vm = id == null ? null : vms.get(id);
    if (vm == null) {
      String what = ref.getId().isEmpty() ? "named " + quote(ref.getName()) : "with id " + quote(ref.getId());
      return failed(GrpcStatus.NOT_FOUND, "no VM " + what);
    }
    return Future.succeededFuture(vm);
  }

  private static boolean matches(StoredVm vm, VmFilter f) {
    if (f.phase() != Phase.PHASE_UNSPECIFIED && vm.status().getPhase() != f.phase()) {
      return false;
    }
    if (!f.node().isEmpty() && !vm.status().getNode().equals(f.node())) {
      return false;
    }
    for (Map.Entry<String, String> e : f.labels().entrySet()) {
      if (!e.getValue().equals(vm.spec().getLabelsMap().get(e.getKey()))) {
        return false;
      }
    }
    return true;
  }

  private VmEvent event(StoredVm vm, EventType type, String reason, String message) {
    return VmEvent.newBuilder().setVmId(vm.id()).setVmName(vm.name()).setNode(vm.status().getNode()).setType(type)
        .setPhase(vm.status().getPhase()).setReason(reason).setMessage(message).setTime(Timestamps.of(clock.instant())).build();
  }

  private static void upsertProcess(VmStatus.Builder status, ProcessStatus p) {
    for (int i = 0; i < status.getProcessesCount(); i++) {
      if (status.getProcesses(i).getName().equals(p.getName())) {
        status.setProcesses(i, p);
        return;
      }
    }
    status.addProcesses(p);
  }

  private Future<Void> notFoundIsFine(Throwable e) {
    if (e instanceof GrpcCallException gce && gce.status() == GrpcStatus.NOT_FOUND) {
      return Future.succeededFuture();
    }
    return Future.failedFuture(e);
  }

  private static String reasonOf(EventType type) {
    return switch (type) {
      case NODE_READY -> "NodeReady";
      case NODE_NOT_READY -> "NodeNotReady";
      default -> "NodeLost";
    };
  }

  /**
   * A caller's value in a message exactly as {@code io.mpqemu.errors.Echo.quote} renders it (at most 64
   * characters, then "…"; printable ASCII, else '?'), written out here because this domain package may
   * not depend on common (ControlPlaneArchitectureTest).
   */
  private static String quote(String s) {
    return "'" + plain(s) + "'";
  }

  /** {@link #quote} without the quotes, for a node id in a log line ("" shows as nothing). */
  private static String plain(String s) {
    String cut = s.length() > 64 ? s.substring(0, 64) : s;
    return cut.replaceAll("[^\\x20-\\x7e]", "?") + (cut.length() < s.length() ? "…" : "");
  }

  private static <T> Future<T> failed(GrpcStatus status, String message) {
    return Future.failedFuture(new ApiException(status, message));
  }
}
