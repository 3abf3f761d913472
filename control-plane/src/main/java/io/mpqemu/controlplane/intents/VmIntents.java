package io.mpqemu.controlplane.intents;

import io.mpqemu.controlplane.leadership.Leadership;
import io.mpqemu.controlplane.policy.StatusFold;
import io.mpqemu.controlplane.records.VmRecords;
import io.mpqemu.controlplane.store.Change;
import io.mpqemu.controlplane.store.StoreExecutor;
import io.mpqemu.controlplane.store.StoredVm;
import io.mpqemu.controlplane.store.VmFilter;
import io.mpqemu.controlplane.vm.Quota;
import io.mpqemu.controlplane.vm.VmError;
import io.mpqemu.errors.Echo;
import io.mpqemu.spec.InvalidSpecException;
import io.mpqemu.spec.NodeLimits;
import io.mpqemu.spec.SpecValidator;
import io.mpqemu.v1.DesiredState;
import io.mpqemu.v1.EventType;
import io.mpqemu.v1.Phase;
import io.mpqemu.v1.VmRef;
import io.mpqemu.v1.VmSpec;
import io.mpqemu.wire.Phases;
import io.vertx.core.Future;
import java.util.List;
import java.util.Optional;
import java.util.function.Function;

/**
 * CreateVm, StartVm, StopVm, DeleteVm, GetVm and ListVms as use cases. A write validates, checks the
 * VM's state, stores the new intent with its event in one transaction and answers once that is durable,
 * then asks {@link Convergence} to act sooner than its next pass. Refusals are {@link VmError}s. Runs on
 * the control plane's event loop.
 */
public final class VmIntents {

  /** A page this long or longer is turned into its view on every core (as the store parses it). */
  private static final int VIEW_IN_PARALLEL_FROM = 64;

  private final VmRecords records;
  private final StoreExecutor store;
  private final Convergence convergence;
  private final NodeLimits limits;
  private final VmCreation creation;
  private final Leadership leadership;

  /** @param leadership writes are taken only while this control plane leads (the others are standbys) */
  public VmIntents(VmRecords records, StoreExecutor store, Convergence convergence, NodeLimits limits, Quota quota,
      Leadership leadership) {
    this.leadership = leadership;
    this.records = records;
    this.store = store;
    this.convergence = convergence;
    this.limits = limits;
    this.creation = new VmCreation(records, store, convergence, limits, quota);
  }

  /**
   * Stores a new intent for {@code owner} (the caller's identity; "" for none, which no quota counts),
   * once the spec is valid, its name free and the owner within its quota ({@link VmCreation}).
   */
  public Future<StoredVm> create(VmSpec spec, DesiredState desired, String requestId, String owner) {
    return writable().compose(v -> creation.create(spec, desired, requestId, owner));
  }

  // ------------------------------------------------------------------ start, stop, delete

  /** Sets the desired state to RUNNING; {@code expectedRevision} 0 for any revision. */
  public Future<StoredVm> start(VmRef ref, long expectedRevision) {
    return writable().compose(w -> find(ref, expectedRevision)).compose(vm -> {
      Phase phase = vm.status().getPhase();
      if (vm.desiredState() == DesiredState.RUNNING && phase != Phase.PHASE_STOPPED && phase != Phase.PHASE_FAILED) {
        return failed(VmError.Kind.PRECONDITION, "VM '" + vm.name() + "' is already " + Phases.name(phase)
            + " with desired state RUNNING");
      }
      if (phase == Phase.PHASE_STOPPING || vm.desiredState() == DesiredState.STOPPED && StatusFold.isActive(phase)) {
        return failed(VmError.Kind.PRECONDITION, "VM '" + vm.name() + "' is stopping; start it once it is stopped");
      }
      StoredVm next = vm.withDesiredState(DesiredState.RUNNING, records.clock().instant());
      if (phase == Phase.PHASE_STOPPED || phase == Phase.PHASE_FAILED) {
        next = next.withStatus(next.status().toBuilder().setPhase(Phase.PHASE_PENDING).setReason("StartRequested")
            .setMessage("waiting to be placed").build(), records.clock().instant());
      }
      return records.replace(vm, next, EventType.START_REQUESTED, "StartRequested", "desired state set to RUNNING").map(v -> {
        convergence.converge(v.id());
        return v;
      });
    });
  }

  /** Sets the desired state to STOPPED; {@code expectedRevision} 0 for any revision. */
  public Future<StoredVm> stop(VmRef ref, int timeoutSeconds, boolean force, long expectedRevision) {
    return writable().compose(w -> find(ref, expectedRevision)).compose(vm -> {
      Phase phase = vm.status().getPhase();
      if (vm.desiredState() == DesiredState.STOPPED && (phase == Phase.PHASE_STOPPED || phase == Phase.PHASE_FAILED)) {
        return failed(VmError.Kind.PRECONDITION, "VM '" + vm.name() + "' is already " + Phases.name(phase));
      }
      StoredVm next = vm.withDesiredState(DesiredState.STOPPED, records.clock().instant());
      boolean onNode = !next.status().getNode().isEmpty()
          && (StatusFold.isActive(phase) || phase == Phase.PHASE_SCHEDULED || phase == Phase.PHASE_UNKNOWN);
      if (!onNode) {
        next = next.withStatus(next.status().toBuilder().setPhase(Phase.PHASE_STOPPED).setReason("Stopped")
            .setMessage("stopped before it was launched").build(), records.clock().instant());
      } else if (phase == Phase.PHASE_UNKNOWN) {
        // the node is out of reach and may still run it: reconciliation stops it when the node returns
        next = next.withStatus(next.status().toBuilder().setMessage("stop pending until node "
            + next.status().getNode() + " is back").build(), records.clock().instant());
      }
      return records.replace(vm, next, EventType.STOP_REQUESTED, "StopRequested", "desired state set to STOPPED"
          + (force ? ", forced" : "")).map(v -> {
            if (onNode) {
              convergence.stop(v, timeoutSeconds, force);
            }
            return v;
          });
    });
  }

  /** Deletes the VM once it is off its node; its events stay in the log. {@code expectedRevision} 0 for any. */
  public Future<Void> delete(VmRef ref, long expectedRevision) {
    return writable().compose(w -> find(ref, expectedRevision)).compose(vm -> convergence.release(vm).compose(v -> {
      StoredVm gone = vm.withStatus(vm.status().toBuilder().setPhase(Phase.PHASE_DELETED).setReason("Deleted")
          .setMessage("deleted; its events stay in the log").build(), records.clock().instant());
      return records.remove(vm, Change.builder().delete(vm.id())
          .event(records.event(gone, EventType.VM_DELETED, "Deleted", "VM deleted; its events stay in the log")).build());
    }));
  }

  /**
   * Replaces the fields {@code paths} names ({@link SpecUpdate#FIELDS}) with those of {@code values},
   * checks the result as a whole, and stores it at the next revision. A new node selector applies at the
   * next placement, a new restart policy when the current run ends; the running VM is not touched.
   */
  public Future<StoredVm> update(VmRef ref, VmSpec values, List<String> paths, long expectedRevision) {
    return writable().compose(w -> find(ref, expectedRevision)).compose(vm -> {
      VmSpec merged;
      try {
        merged = SpecUpdate.apply(vm.spec(), values, paths);
        SpecValidator.validate(merged, limits);
      } catch (InvalidSpecException e) {
        return failed(VmError.Kind.INVALID, e.getMessage());
      }
      if (merged.equals(vm.spec())) {
        return Future.succeededFuture(vm); // nothing changes: no new revision, no event
      }
      StoredVm next = new StoredVm(vm.id(), merged, vm.desiredState(), vm.revision() + 1, vm.status(), vm.createdAt(),
          records.clock().instant(), vm.owner());
      return records.replace(vm, next, EventType.SPEC_UPDATED, "SpecUpdated", "replaced " + String.join(", ", paths)
          + "; now at revision " + next.revision()).map(v -> {
            convergence.converge(v.id()); // a VM waiting for a node may fit one now
            return v;
          });
    });
  }

  // ------------------------------------------------------------------ reads, from the store

  public Future<StoredVm> get(VmRef ref) {
    Future<Void> named = checkRef(ref);
    if (named.failed()) {
      return named.mapEmpty();
    }
    return store.read(st -> ref.getId().isEmpty() ? st.vmByName(ref.getName()) : st.vm(ref.getId()))
        .compose(found -> found.map(Future::succeededFuture).orElseGet(() -> notFound(ref)));
  }

  /**
   * A page of VMs ordered by id, after {@code afterId}, each turned into {@code view} on the reader's thread
   * (and its cores, for a long page) rather than on the caller's event loop.
   */
  public <T> Future<List<T>> list(VmFilter filter, String afterId, int limit, Function<StoredVm, T> view) {
    return store.read(st -> {
      List<StoredVm> page = st.listVms(filter, afterId, limit);
      return (page.size() < VIEW_IN_PARALLEL_FROM ? page.stream() : page.parallelStream()).map(view).toList();
    });
  }

  /**
   * The VM as this control plane writes it (for the writes, which build on it), at {@code expectedRevision}
   * unless that is 0.
   */
  private Future<StoredVm> find(VmRef ref, long expectedRevision) {
    Future<Void> named = checkRef(ref);
    if (named.failed()) {
      return named.mapEmpty();
    }
    Optional<StoredVm> vm = ref.getId().isEmpty() ? records.byName(ref.getName()) : records.get(ref.getId());
    if (vm.isEmpty()) {
      return notFound(ref);
    }
    if (expectedRevision != 0 && vm.get().revision() != expectedRevision) {
      return failed(VmError.Kind.PRECONDITION, "VM '" + vm.get().name() + "' is at revision " + vm.get().revision()
          + ", not " + expectedRevision + "; read it again and decide with expected_revision " + vm.get().revision());
    }
    return Future.succeededFuture(vm.get());
  }

  private static Future<Void> checkRef(VmRef ref) {
    return ref.getId().isEmpty() == ref.getName().isEmpty()
        ? failed(VmError.Kind.INVALID, "name the VM by exactly one of vm.id and vm.name") : Future.succeededFuture();
  }

  private static <T> Future<T> notFound(VmRef ref) {
    String what = ref.getId().isEmpty() ? "named " + Echo.quote(ref.getName()) : "with id " + Echo.quote(ref.getId());
    return failed(VmError.Kind.NOT_FOUND, "no VM " + what);
  }

  /** Writes go to the leader: a standby answers UNAVAILABLE, naming the leader it last saw. */
  private Future<Void> writable() {
    return leadership.leads() ? Future.succeededFuture()
        : failed(VmError.Kind.UNAVAILABLE, "this control plane (" + leadership.id() + ") takes no writes: "
            + leadership.describe() + "; send them to the leader");
  }

  private static <T> Future<T> failed(VmError.Kind kind, String message) {
    return Future.failedFuture(new VmError(kind, message));
  }
}
