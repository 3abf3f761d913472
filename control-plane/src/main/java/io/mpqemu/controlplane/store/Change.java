package io.mpqemu.controlplane.store;

import io.mpqemu.v1.VmEvent;
import io.mpqemu.v1.VmSpec;
import io.mpqemu.wire.SpecJson;
import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;

/**
 * What one transaction does.
 *
 * @param inserts VMs that must not exist yet (by id or name)
 * @param updates VMs that replace the stored row of the same id (a missing row is inserted)
 * @param deletes ids of VMs to remove (their events stay)
 * @param events appended in this order, each given the next seq; their seq field is ignored
 * @param requestId when not null, maps this CreateVm request id to {@code requestVmId}
 * @param printedSpecs the JSON of the written VMs' specs, by spec instance, when printed ahead ({@link
 *     #withSpecsPrinted}): the writer then does not print them on its one thread
 */
public record Change(List<StoredVm> inserts, List<StoredVm> updates, List<String> deletes, List<VmEvent> events,
    String requestId, String requestVmId, Map<VmSpec, String> printedSpecs) {

  public Change {
    inserts = List.copyOf(inserts);
    updates = List.copyOf(updates);
    deletes = List.copyOf(deletes);
    events = List.copyOf(events);
    printedSpecs = printedSpecs.isEmpty() ? Map.of() : Collections.unmodifiableMap(new IdentityHashMap<>(printedSpecs));
  }

  /** This change with its VMs' specs printed as JSON now, on the calling thread. */
  public Change withSpecsPrinted() {
    Map<VmSpec, String> printed = new IdentityHashMap<>();
    for (List<StoredVm> vms : List.of(inserts, updates)) {
      for (StoredVm vm : vms) {
        printed.computeIfAbsent(vm.spec(), SpecJson::of);
      }
    }
    return new Change(inserts, updates, deletes, events, requestId, requestVmId, printed);
  }

  /** The JSON of {@code spec}, printed ahead or now. */
  String specJson(VmSpec spec) {
    String printed = printedSpecs.get(spec);
    return printed != null ? printed : SpecJson.of(spec);
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
      return new Change(inserts, updates, deletes, events, requestId, requestVmId, Map.of());
    }
  }
}
