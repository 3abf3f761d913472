package io.mpqemu.controlplane.intents;

import io.mpqemu.controlplane.records.Usage;
import io.mpqemu.controlplane.records.VmRecords;
import io.mpqemu.controlplane.store.Change;
import io.mpqemu.controlplane.store.StoreException;
import io.mpqemu.controlplane.store.StoreExecutor;
import io.mpqemu.controlplane.store.StoredVm;
import io.mpqemu.controlplane.vm.Quota;
import io.mpqemu.controlplane.vm.VmError;
import io.mpqemu.spec.InvalidSpecException;
import io.mpqemu.spec.NodeLimits;
import io.mpqemu.spec.SpecValidator;
import io.mpqemu.v1.DesiredState;
import io.mpqemu.v1.EventType;
import io.mpqemu.v1.Phase;
import io.mpqemu.v1.VmSpec;
import io.mpqemu.v1.VmStatus;
import io.vertx.core.Future;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * CreateVm: a valid spec, a free name, the owner within its quota, then the intent and its ACCEPTED event
 * in one transaction. A retry with the same request id and spec answers the VM that request created, even
 * while the first attempt is still being written. Runs on the control plane's event loop.
 */
final class VmCreation {

  private static final Logger LOG = LoggerFactory.getLogger(VmCreation.class);
  private static final Pattern REQUEST_ID = Pattern.compile("^[A-Za-z0-9._:-]{1,128}$");

  private final VmRecords records;
  private final StoreExecutor store;
  private final Convergence convergence;
  private final NodeLimits limits;
  private final Quota quota;
  private final Set<String> namesBeingCreated = new HashSet<>();
  /** Creates not yet durable, by request id: a retry that arrives meanwhile gets the same answer. */
  private final Map<String, Map.Entry<VmSpec, Future<StoredVm>>> requestsInFlight = new HashMap<>();
  /** Creates not yet durable, by owner: they count against the owner's quota meanwhile. */
  private final Map<String, List<VmSpec>> creatingByOwner = new HashMap<>();

  VmCreation(VmRecords records, StoreExecutor store, Convergence convergence, NodeLimits limits, Quota quota) {
    this.records = records;
    this.store = store;
    this.convergence = convergence;
    this.limits = limits;
    this.quota = quota;
  }

  /**
   * Stores a new intent for {@code owner} (the caller's identity; "" for none, which no quota counts),
   * once the spec is valid, its name free and the owner within its quota. A retry with the same request
   * id and spec answers the VM that request created.
   */
  Future<StoredVm> create(VmSpec spec, DesiredState desired, String requestId, String owner) {
    try {
      SpecValidator.validate(spec, limits);
    } catch (InvalidSpecException e) {
      return failed(VmError.Kind.INVALID, e.getMessage());
    }
    if (!requestId.isEmpty() && !REQUEST_ID.matcher(requestId).matches()) {
      return failed(VmError.Kind.INVALID, "request_id must be 1 to 128 characters of [A-Za-z0-9._:-]");
    }
    DesiredState want = desired == DesiredState.DESIRED_STATE_UNSPECIFIED ? DesiredState.RUNNING : desired;
    if (want == DesiredState.UNRECOGNIZED) {
      return failed(VmError.Kind.INVALID, "desired_state must be RUNNING or STOPPED");
    }
    Future<StoredVm> retried = retryOfInFlight(requestId, spec);
    if (retried != null) {
      return retried;
    }
    Future<String> priorRequest = requestId.isEmpty() ? Future.succeededFuture(null)
        : store.read(st -> st.vmIdForRequest(requestId).orElse(null));
    return priorRequest.compose(priorId -> {
      if (priorId != null) {
        return priorAnswer(requestId, priorId, spec);
      }
      Future<StoredVm> racing = retryOfInFlight(requestId, spec);
      if (racing != null) {
        return racing; // a retry of a create still being written
      }
      if (records.byName(spec.getName()).isPresent() || namesBeingCreated.contains(spec.getName())) {
        return failed(VmError.Kind.EXISTS, "a VM named '" + spec.getName() + "' already exists; choose another name or delete it");
      }
      Optional<String> overQuota = quotaRefusal(owner, spec);
      if (overQuota.isPresent()) {
        LOG.info("refused to create VM {} for {}: {}", spec.getName(), owner, overQuota.get());
        return failed(VmError.Kind.QUOTA, overQuota.get());
      }
      Future<StoredVm> created = insert(spec, want, requestId, owner);
      if (!requestId.isEmpty() && !created.isComplete()) {
        requestsInFlight.put(requestId, Map.entry(spec, created));
        created.onComplete(ar -> requestsInFlight.remove(requestId));
      }
      return created;
    });
  }

  /** The create in flight for this request id: its future for the same spec, a refusal for another, null if none. */
  private Future<StoredVm> retryOfInFlight(String requestId, VmSpec spec) {
    Map.Entry<VmSpec, Future<StoredVm>> inFlight = requestId.isEmpty() ? null : requestsInFlight.get(requestId);
    if (inFlight == null) {
      return null;
    }
    return inFlight.getKey().equals(spec) ? inFlight.getValue()
        : failed(VmError.Kind.EXISTS, "request_id " + requestId + " is being used for another spec; use a new"
            + " request_id for a new VM");
  }

  private Future<StoredVm> priorAnswer(String requestId, String priorId, VmSpec spec) {
    StoredVm prior = records.get(priorId).orElse(null);
    if (prior == null) {
      return failed(VmError.Kind.EXISTS, "request_id " + requestId + " created VM " + priorId
          + ", which has been deleted since; use a new request_id");
    }
    if (!prior.spec().equals(spec)) {
      return failed(VmError.Kind.EXISTS, "request_id " + requestId + " was used for VM '" + prior.name()
          + "' with another spec; use a new request_id for a new VM");
    }
    return Future.succeededFuture(prior);
  }

  /** Why {@code owner} may not create {@code spec} now: its VMs, stored and being stored, count. */
  private Optional<String> quotaRefusal(String owner, VmSpec spec) {
    if (owner.isEmpty() || quota.equals(Quota.NONE)) {
      return Optional.empty();
    }
    Usage held = records.usageOf(owner);
    int count = held.vms();
    long memory = held.memoryMib();
    for (VmSpec pending : creatingByOwner.getOrDefault(owner, List.of())) {
      count++;
      memory += pending.getMemoryMib();
    }
    return quota.refusal(owner, count, memory, spec.getMemoryMib());
  }

  private Future<StoredVm> insert(VmSpec spec, DesiredState desired, String requestId, String owner) {
    Instant now = records.clock().instant();
    String id = UUID.randomUUID().toString();
    VmStatus status = VmStatus.newBuilder().setPhase(desired == DesiredState.RUNNING ? Phase.PHASE_PENDING : Phase.PHASE_STOPPED)
        .setReason("Accepted").setMessage(desired == DesiredState.RUNNING ? "waiting to be placed" : "created stopped").build();
    StoredVm vm = new StoredVm(id, spec, desired, 1, status, now, now, owner);
    Change.Builder change = Change.builder().insert(vm)
        .event(records.event(vm, EventType.ACCEPTED, "Accepted", "intent stored, desired state " + desired));
    if (!requestId.isEmpty()) {
      change.request(requestId, id);
    }
    namesBeingCreated.add(spec.getName());
    creatingByOwner.computeIfAbsent(owner, o -> new ArrayList<>()).add(spec);
    return records.insert(vm, change.build()).map(stored -> {
      if (desired == DesiredState.RUNNING) {
        convergence.converge(id);
      }
      return stored;
    }).recover(e -> {
      // the store's own sentences name the clash; a constraint the engine enforced has none, only SQL
      // text, and means memory and store disagree: an internal error, whose detail goes to the log
      if (e instanceof StoreException se && se.kind() == StoreException.Kind.CONFLICT && se.getCause() == null) {
        return failed(VmError.Kind.EXISTS, se.getMessage());
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

  private static <T> Future<T> failed(VmError.Kind kind, String message) {
    return Future.failedFuture(new VmError(kind, message));
  }
}
