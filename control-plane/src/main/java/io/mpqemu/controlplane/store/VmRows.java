package io.mpqemu.controlplane.store;

import io.mpqemu.v1.DesiredState;
import io.mpqemu.v1.Phase;
import io.mpqemu.v1.VmSpec;
import io.mpqemu.v1.VmStatus;
import io.mpqemu.wire.SpecJson;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.stream.Collectors;

/**
 * VM rows, in either engine: the spec and status as protobuf JSON, phase and node as columns and the
 * labels in {@code vm_labels}, so that listings filter in SQL; times as ISO-8601 text, which keeps an
 * Instant's nanoseconds. The caller runs writes in a transaction.
 */
final class VmRows {

  /** Rows from which a read parses on more than one thread (a listing page, a load); fewer are parsed here. */
  static final int PARSE_IN_PARALLEL_FROM = 64;

  private final Statements statements;

  VmRows(Statements statements) {
    this.statements = statements;
  }

  /** Refuses an insert whose id or name is taken, naming what clashed. */
  void refuseExisting(StoredVm vm) throws SQLException {
    PreparedStatement select = statements.prepare(StoreSql.VM_CLASH); // one round trip for both
    select.setString(1, vm.id());
    select.setString(2, vm.name());
    String sameName = null;
    try (ResultSet rows = select.executeQuery()) {
      while (rows.next()) {
        if (rows.getString(1).equals(vm.id())) {
          throw new StoreException(StoreException.Kind.CONFLICT, "A VM with id " + vm.id() + " already exists.", null);
        }
        sameName = rows.getString(1);
      }
    }
    if (sameName != null) {
      throw new StoreException(StoreException.Kind.CONFLICT,
          "The name " + vm.name() + " is already used by VM " + sameName + ".", null);
    }
  }

  /**
   * Optimistic concurrency: an update may not replace a newer intent. A writer that read revision N
   * and writes N (status only) or N + 1 (a new spec or desired state) wins over nothing newer; one
   * that read a stale row loses with CONFLICT instead of undoing someone else's change.
   */
  void refuseOlder(StoredVm vm) throws SQLException {
    PreparedStatement select = statements.prepare(StoreSql.VM_REVISION);
    select.setString(1, vm.id());
    try (ResultSet rs = select.executeQuery()) {
      if (rs.next() && rs.getLong(1) > vm.revision()) {
        throw new StoreException(StoreException.Kind.CONFLICT, "VM " + vm.id() + " is at revision " + rs.getLong(1)
            + "; a write of revision " + vm.revision() + " was based on an older version and is refused.", null);
      }
    }
  }

  /** Inserts the VM, or replaces the row with its id; its labels replace the stored ones. */
  void write(StoredVm vm) throws SQLException {
    write(vm, false);
  }

  /** As {@link #write(StoredVm)}; {@code fresh} when the VM is known to be new, so it has no labels to remove. */
  void write(StoredVm vm, boolean fresh) throws SQLException {
    Objects.requireNonNull(vm.id(), "a stored VM needs an id");
    Objects.requireNonNull(vm.spec(), "a stored VM needs a spec");
    Objects.requireNonNull(vm.desiredState(), "a stored VM needs a desired state");
    PreparedStatement upsert = statements.prepare(StoreSql.VM_UPSERT);
    bind(upsert, vm);
    upsert.executeUpdate();
    if (!fresh) {
      deleteLabels(vm.id());
    }
    if (vm.spec().getLabelsCount() == 0) {
      return;
    }
    PreparedStatement label = statements.prepare(StoreSql.LABEL_INSERT);
    for (Map.Entry<String, String> entry : vm.spec().getLabelsMap().entrySet()) {
      label.setString(1, vm.id());
      label.setString(2, entry.getKey());
      label.setString(3, entry.getValue());
      label.addBatch();
    }
    label.executeBatch(); // one round trip for all of them
  }

  /** Sets a VM row's eleven parameters, in the column order of {@link StoreSql#VM_UPSERT} and {@link StoreSql#VM_INSERT}. */
  static void bind(PreparedStatement row, StoredVm vm) throws SQLException {
    VmStatus status = vm.status();
    row.setString(1, vm.id());
    row.setString(2, vm.name());
    row.setString(3, SpecJson.of(vm.spec()));
    row.setString(4, vm.desiredState().name());
    row.setLong(5, vm.revision());
    row.setString(6, status == null ? null : ProtoJson.print(status));
    row.setString(7, (status == null ? Phase.PHASE_UNSPECIFIED : status.getPhase()).name());
    row.setString(8, status == null ? "" : status.getNode());
    row.setString(9, text(vm.createdAt()));
    row.setString(10, text(vm.updatedAt()));
    row.setString(11, vm.owner());
  }

  /** Removes the VM and its labels; a missing VM is no error. */
  void delete(String id) throws SQLException {
    deleteLabels(id);
    PreparedStatement delete = statements.prepare(StoreSql.VM_DELETE);
    delete.setString(1, id);
    delete.executeUpdate();
  }

  Optional<StoredVm> byId(String id) throws SQLException {
    return one(StoreSql.VM_BY_ID, id);
  }

  Optional<StoredVm> byName(String name) throws SQLException {
    return one(StoreSql.VM_BY_NAME, name);
  }

  /** VMs after {@code afterId} in id order, matching the filter: one EXISTS clause per label entry. */
  List<StoredVm> list(VmFilter filter, String afterId, int limit) throws SQLException {
    StringBuilder sql = new StringBuilder(StoreSql.VMS_AFTER);
    List<String> values = new ArrayList<>();
    values.add(afterId == null ? "" : afterId);
    if (filter.phase() != null && filter.phase() != Phase.PHASE_UNSPECIFIED) {
      sql.append(StoreSql.AND_PHASE);
      values.add(filter.phase().name());
    }
    if (filter.node() != null && !filter.node().isEmpty()) {
      sql.append(StoreSql.AND_NODE);
      values.add(filter.node());
    }
    for (Map.Entry<String, String> entry : filter.labels().entrySet()) {
      sql.append(StoreSql.AND_LABEL);
      values.add(entry.getKey());
      values.add(entry.getValue());
      values.add(afterId == null ? "" : afterId);
    }
    sql.append(StoreSql.ORDER_BY_ID_LIMIT);
    try (PreparedStatement query = statements.prepareOnce(sql.toString())) {
      for (int i = 0; i < values.size(); i++) {
        query.setString(i + 1, values.get(i));
      }
      query.setInt(values.size() + 1, limit);
      return read(query);
    }
  }

  private void deleteLabels(String id) throws SQLException {
    PreparedStatement delete = statements.prepare(StoreSql.LABELS_DELETE);
    delete.setString(1, id);
    delete.executeUpdate();
  }

  private Optional<StoredVm> one(String sql, String key) throws SQLException {
    PreparedStatement query = statements.prepare(sql);
    query.setString(1, key);
    List<StoredVm> vms = read(query);
    return vms.isEmpty() ? Optional.empty() : Optional.of(vms.get(0));
  }

  private static List<StoredVm> read(PreparedStatement query) throws SQLException {
    List<Row> rows = new ArrayList<>();
    try (ResultSet result = query.executeQuery()) {
      while (result.next()) {
        rows.add(new Row(result.getString(1), result.getString(2), result.getString(3), result.getLong(4),
            result.getString(5), result.getString(6), result.getString(7), result.getString(8)));
      }
    }
    // parsing the JSON is most of a listing's time: a long page is parsed on every core, in order
    return (rows.size() < PARSE_IN_PARALLEL_FROM ? rows.stream() : rows.parallelStream()).map(Row::parse)
        .collect(Collectors.toCollection(ArrayList::new));
  }

  /** A VM row as read, before its JSON and times are parsed. */
  private record Row(String id, String spec, String desired, long revision, String status, String created,
      String updated, String owner) {
    StoredVm parse() {
      return new StoredVm(id, ProtoJson.parse(spec, VmSpec.newBuilder(), "spec of VM " + id),
          DesiredState.valueOf(desired), revision,
          status == null ? null : ProtoJson.parse(status, VmStatus.newBuilder(), "status of VM " + id),
          instant(created), instant(updated), owner);
    }
  }

  static String text(Instant instant) {
    return instant == null ? null : instant.toString();
  }

  static Instant instant(String text) {
    return text == null ? null : StoredInstants.parse(text);
  }
}
