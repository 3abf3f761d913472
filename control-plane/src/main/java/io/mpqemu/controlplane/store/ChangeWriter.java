package io.mpqemu.controlplane.store;

import io.mpqemu.v1.VmEvent;
import io.mpqemu.wire.EventJson;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.HashSet;
import java.util.Set;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * Applies one change inside the caller's transaction, in either engine: its inserts, then its updates,
 * then its deletes, then the request id mapping, then its events, numbered from the last seq on.
 */
final class ChangeWriter {

  private ChangeWriter() {}

  static List<VmEvent> apply(Statements statements, Change change, long lastSeq) throws SQLException {
    VmRows vms = new VmRows(statements);
    List<VmEvent> events = unrecorded(statements, change.events());
    Map<String, Long> lastSeqOfVm = seqsOfVms(events, lastSeq);
    for (StoredVm vm : change.inserts()) {
      vms.refuseExisting(vm);
      vms.write(withLastEventSeq(vm, lastSeqOfVm), true);
    }
    for (StoredVm vm : change.updates()) {
      vms.refuseOlder(vm);
      vms.write(withLastEventSeq(vm, lastSeqOfVm));
    }
    for (String id : change.deletes()) {
      vms.delete(id);
    }
    if (change.requestId() != null) {
      mapRequest(statements, change.requestId(), change.requestVmId());
    }
    return append(statements, events, lastSeq);
  }

  /**
   * The events minus agents' events already recorded: an agent numbers each VM's events ({@code vm_seq}),
   * so one delivered twice (the bus, a failover) is found by its node, VM and vm_seq and recorded once when
   * it is the same event. A different event with the same numbers is recorded: an agent that lost a VM's
   * state (a rebuilt host) numbers its events from 1 again.
   */
  static List<VmEvent> unrecorded(Statements statements, List<VmEvent> events) throws SQLException {
    return unrecorded(statements, events, new HashSet<>());
  }

  /** As above, also leaving out the events in {@code seen}, and adding the ones kept to it (a group's changes share it). */
  static List<VmEvent> unrecorded(Statements statements, List<VmEvent> events, Set<VmEvent> seen) throws SQLException {
    List<VmEvent> fresh = new ArrayList<>(events.size());
    for (VmEvent e : events) {
      if (e.getVmSeq() > 0) {
        if (!seen.add(e.toBuilder().setSeq(0).build()) || recorded(statements, e)) {
          continue;
        }
      }
      fresh.add(e);
    }
    return fresh;
  }

  private static boolean recorded(Statements statements, VmEvent e) throws SQLException {
    PreparedStatement query = statements.prepare(StoreSql.AGENT_EVENTS_NUMBERED);
    query.setString(1, e.getNode());
    query.setString(2, e.getVmId());
    query.setLong(3, e.getVmSeq());
    VmEvent unnumbered = e.toBuilder().setSeq(0).build();
    try (ResultSet rows = query.executeQuery()) {
      while (rows.next()) {
        VmEvent stored = ProtoJson.parse(rows.getString(1), VmEvent.newBuilder(), "event");
        if (stored.toBuilder().setSeq(0).build().equals(unnumbered)) {
          return true;
        }
      }
      return false;
    }
  }

  /** The seq each VM's last event in this change will get: events are numbered from lastSeq + 1, in order. */
  static Map<String, Long> seqsOfVms(List<VmEvent> events, long lastSeq) {
    Map<String, Long> last = new HashMap<>();
    long seq = lastSeq;
    for (VmEvent e : events) {
      seq++;
      if (!e.getVmId().isEmpty()) {
        last.put(e.getVmId(), seq);
      }
    }
    return last;
  }

  static StoredVm withLastEventSeq(StoredVm vm, Map<String, Long> lastSeqOfVm) {
    Long seq = lastSeqOfVm.get(vm.id());
    if (seq == null || vm.status() == null) {
      return vm;
    }
    return vm.withStatus(vm.status().toBuilder().setLastEventSeq(seq).build(), vm.updatedAt());
  }

  private static void mapRequest(Statements statements, String requestId, String vmId) throws SQLException {
    Objects.requireNonNull(vmId, "a request id maps to a VM id");
    Optional<String> mapped = requestVm(statements, requestId);
    if (mapped.isPresent()) {
      throw new StoreException(StoreException.Kind.CONFLICT,
          "The request id " + requestId + " is already mapped to VM " + mapped.get() + ".", null);
    }
    PreparedStatement insert = statements.prepare(StoreSql.REQUEST_INSERT);
    insert.setString(1, requestId);
    insert.setString(2, vmId);
    insert.executeUpdate();
  }

  /** Numbers the events from {@code lastSeq + 1} and inserts them with their seq set in the JSON. */
  private static List<VmEvent> append(Statements statements, List<VmEvent> events, long lastSeq) throws SQLException {
    PreparedStatement insert = statements.prepare(StoreSql.EVENT_INSERT);
    List<VmEvent> recorded = new ArrayList<>(events.size());
    long seq = lastSeq;
    for (VmEvent event : events) {
      VmEvent numbered = event.toBuilder().setSeq(++seq).build();
      insert.setLong(1, seq);
      insert.setString(2, numbered.getVmId());
      insert.setString(3, EventJson.toJson(numbered).encode());
      insert.setString(4, numbered.getNode());
      insert.setLong(5, numbered.getVmSeq());
      insert.addBatch();
      recorded.add(numbered);
    }
    if (!recorded.isEmpty()) {
      insert.executeBatch(); // one round trip for all of them
    }
    return List.copyOf(recorded);
  }

  static Optional<String> requestVm(Statements statements, String requestId) throws SQLException {
    PreparedStatement query = statements.prepare(StoreSql.REQUEST_VM);
    query.setString(1, requestId);
    try (ResultSet rows = query.executeQuery()) {
      return rows.next() ? Optional.of(rows.getString(1)) : Optional.empty();
    }
  }
}
