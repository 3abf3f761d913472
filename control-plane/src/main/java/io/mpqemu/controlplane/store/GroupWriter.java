package io.mpqemu.controlplane.store;

import io.mpqemu.v1.VmEvent;
import io.mpqemu.wire.EventJson;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * The fast path of a group commit: every change of the group written with one batch per kind of row (new
 * VMs, replaced VMs, their labels, deleted VMs, request ids, events), a handful of round trips for the
 * whole group instead of several per change. It relies on the constraints instead of reading first: a taken
 * id, name or request id, or a newer revision, fails a batch, and the caller then rolls the group back and
 * writes it change by change ({@link ChangeWriter}), where each refusal gets its own sentence. A group in
 * which one VM is written by two changes also goes change by change, to keep their order.
 */
final class GroupWriter {

  private GroupWriter() {}

  /**
   * Writes the group and answers each change's recorded events, or null (nothing written) when the group
   * must go change by change because two of its changes write one VM.
   *
   * @throws SQLException when a batch fails (a clash among others): roll back and go change by change
   */
  static List<List<VmEvent>> apply(Statements statements, List<Change> changes, long lastSeq) throws SQLException {
    if (!eachVmOnce(changes)) {
      return null;
    }
    PreparedStatement inserts = statements.prepare(StoreSql.VM_INSERT);
    PreparedStatement updates = statements.prepare(StoreSql.VM_UPSERT_NOT_OLDER);
    PreparedStatement labelDeletes = statements.prepare(StoreSql.LABELS_DELETE);
    PreparedStatement vmDeletes = statements.prepare(StoreSql.VM_DELETE);
    PreparedStatement labels = statements.prepare(StoreSql.LABEL_INSERT);
    PreparedStatement requests = statements.prepare(StoreSql.REQUEST_INSERT);
    PreparedStatement events = statements.prepare(StoreSql.EVENT_INSERT);
    List<PreparedStatement> all = List.of(inserts, updates, labelDeletes, vmDeletes, labels, requests, events);
    try {
      return write(statements, changes, lastSeq, inserts, updates, labelDeletes, vmDeletes, labels, requests, events);
    } finally {
      for (PreparedStatement statement : all) {
        statement.clearBatch(); // the statements are shared: nothing of a failed group may linger in them
      }
    }
  }

  private static List<List<VmEvent>> write(Statements statements, List<Change> changes, long lastSeq,
      PreparedStatement inserts, PreparedStatement updates, PreparedStatement labelDeletes, PreparedStatement vmDeletes,
      PreparedStatement labels, PreparedStatement requests, PreparedStatement events) throws SQLException {
    int[] counts = new int[7];
    List<List<VmEvent>> recorded = new ArrayList<>(changes.size());
    Set<VmEvent> seen = new HashSet<>(); // an agent's event in two changes of the group is recorded once too
    long seq = lastSeq;
    for (Change change : changes) {
      List<VmEvent> fresh = ChangeWriter.unrecorded(statements, change.events(), seen);
      Map<String, Long> lastSeqOfVm = ChangeWriter.seqsOfVms(fresh, seq);
      for (StoredVm vm : change.inserts()) {
        StoredVm row = ChangeWriter.withLastEventSeq(vm, lastSeqOfVm);
        add(inserts, row, counts, 0);
        addLabels(labels, row, counts);
      }
      for (StoredVm vm : change.updates()) {
        StoredVm row = ChangeWriter.withLastEventSeq(vm, lastSeqOfVm);
        add(updates, row, counts, 1);
        labelDeletes.setString(1, vm.id());
        labelDeletes.addBatch();
        counts[2]++;
        addLabels(labels, row, counts);
      }
      for (String id : change.deletes()) {
        labelDeletes.setString(1, id);
        labelDeletes.addBatch();
        counts[2]++;
        vmDeletes.setString(1, id);
        vmDeletes.addBatch();
        counts[3]++;
      }
      if (change.requestId() != null) {
        requests.setString(1, change.requestId());
        requests.setString(2, Objects.requireNonNull(change.requestVmId(), "a request id maps to a VM id"));
        requests.addBatch();
        counts[5]++;
      }
      List<VmEvent> numbered = new ArrayList<>(fresh.size());
      for (VmEvent e : fresh) {
        VmEvent n = e.toBuilder().setSeq(++seq).build();
        events.setLong(1, seq);
        events.setString(2, n.getVmId());
        events.setString(3, EventJson.toJson(n).encode());
        events.setString(4, n.getNode());
        events.setLong(5, n.getVmSeq());
        events.addBatch();
        counts[6]++;
        numbered.add(n);
      }
      recorded.add(List.copyOf(numbered));
    }
    run(inserts, counts[0], false);
    run(updates, counts[1], true); // 0 rows: a newer revision is stored
    run(labelDeletes, counts[2], false);
    run(vmDeletes, counts[3], false);
    run(labels, counts[4], false);
    run(requests, counts[5], false);
    run(events, counts[6], false);
    return recorded;
  }

  private static void add(PreparedStatement statement, StoredVm row, int[] counts, int kind) throws SQLException {
    VmRows.bind(statement, row);
    statement.addBatch();
    counts[kind]++;
  }

  private static void addLabels(PreparedStatement labels, StoredVm vm, int[] counts) throws SQLException {
    for (Map.Entry<String, String> label : vm.spec().getLabelsMap().entrySet()) {
      labels.setString(1, vm.id());
      labels.setString(2, label.getKey());
      labels.setString(3, label.getValue());
      labels.addBatch();
      counts[4]++;
    }
  }

  /** Runs a batch; with {@code everyRow}, a statement that changed no row fails the group (a newer revision won). */
  private static void run(PreparedStatement batch, int size, boolean everyRow) throws SQLException {
    if (size == 0) {
      return;
    }
    int[] rows = batch.executeBatch();
    if (everyRow) {
      for (int n : rows) {
        if (n == 0) {
          throw new SQLException("a VM in the group is stored at a newer revision");
        }
      }
    }
  }

  /** Whether no VM id is written (inserted, replaced or deleted) by more than one change of the group. */
  private static boolean eachVmOnce(List<Change> changes) {
    Set<String> seen = new HashSet<>();
    for (Change change : changes) {
      Set<String> mine = new HashSet<>();
      change.inserts().forEach(vm -> mine.add(vm.id()));
      change.updates().forEach(vm -> mine.add(vm.id()));
      mine.addAll(change.deletes());
      for (String id : mine) {
        if (!seen.add(id)) {
          return false;
        }
      }
    }
    return true;
  }
}
