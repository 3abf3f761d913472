package io.mpqemu.controlplane.store;

import io.mpqemu.v1.VmEvent;
import io.mpqemu.wire.SpecJson;
import java.util.ArrayList;
import java.util.List;

/**
 * What one transaction does.
 *
 * @param inserts VMs that must not exist yet (by id or name)
 * @param updates VMs that replace the stored row of the same id (a missing row is inserted)
 * @param deletes ids of VMs to remove (their events stay)
 * @param events appended in this order, each given the next seq; their seq field is ignored
 * @param requestId when not null, maps this CreateVm request id to {@code requestVmId}
 */
public record Change(List<StoredVm> inserts, List<StoredVm> updates, List<String> deletes, List<VmEvent> events,
    String requestId, String requestVmId) {

  public Change {
    inserts = List.copyOf(inserts);
    updates = List.copyOf(updates);
    deletes = List.copyOf(deletes);
    events = List.copyOf(events);
  }

  /**
   * Prints its VMs' specs as JSON now, on the calling thread, into {@link SpecJson}'s memory: the store's
   * writer then finds them printed and does not print them on its one thread.
   */
  public Change withSpecsPrinted() {
    for (List<StoredVm> vms : List.of(inserts, updates)) {
      for (StoredVm vm : vms) {
        SpecJson.of(vm.spec());
      }
    }
    return this;
  }

  public static Builder builder() {
    return new Builder();
  }

  /** Collects a change. */
  public static final class Builder {
    private final List<StoredVm> inserts = new ArrayList<>();
    private final List<StoredVm> updates = new ArrayList<>();
    private final List<String> deletes = new ArrayList<>();
    private final List<VmEvent> events = new ArrayList<>();
    private String requestId;
    private String requestVmId;

    public Builder insert(StoredVm vm) {
      inserts.add(vm);
      return this;
    }

    public Builder update(StoredVm vm) {
      updates.add(vm);
      return this;
    }

    public Builder delete(String vmId) {
      deletes.add(vmId);
      return this;
    }

    public Builder event(VmEvent event) {
      events.add(event);
      return this;
    }

    public Builder request(String id, String vmId) {
      this.requestId = id;
      this.requestVmId = vmId;
      return this;
    }

    public Change build() {
      return new Change(inserts, updates, deletes, events, requestId, requestVmId);
    }
  }
}
