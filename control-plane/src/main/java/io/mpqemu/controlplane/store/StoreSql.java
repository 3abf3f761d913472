package io.mpqemu.controlplane.store;

/**
 * The SQL both engines run, as fixed text with {@code ?} parameters: nothing from a request is ever
 * part of it. SQLite and PostgreSQL both take upserts as {@code INSERT ... ON CONFLICT ... DO UPDATE}
 * and savepoints by name; what differs (starting a transaction, the seq counter) is in each store.
 */
final class StoreSql {

  static final String VM_COLUMNS = "id, spec, desired_state, revision, status, created_at, updated_at, owner";
  static final String VM_BY_ID = "SELECT " + VM_COLUMNS + " FROM vms WHERE id = ?";
  static final String VM_BY_NAME = "SELECT " + VM_COLUMNS + " FROM vms WHERE name = ?";
  static final String VM_CLASH = "SELECT id, name FROM vms WHERE id = ? OR name = ?";
  static final String VM_REVISION = "SELECT revision FROM vms WHERE id = ?";
  /** The owner is left alone on update: a VM's owner never changes. */
  static final String VM_UPSERT = "INSERT INTO vms(id, name, spec, desired_state, revision, status, phase, node,"
      + " created_at, updated_at, owner) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(id) DO UPDATE SET"
      + " name = excluded.name, spec = excluded.spec, desired_state = excluded.desired_state,"
      + " revision = excluded.revision, status = excluded.status, phase = excluded.phase, node = excluded.node,"
      + " created_at = excluded.created_at, updated_at = excluded.updated_at";
  /** A new VM, no upsert: a taken id or name fails the statement (a group then goes change by change). */
  static final String VM_INSERT = "INSERT INTO vms(id, name, spec, desired_state, revision, status, phase, node,"
      + " created_at, updated_at, owner) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";
  /** The upsert that leaves a newer row alone (0 rows changed): optimistic concurrency in one statement. */
  static final String VM_UPSERT_NOT_OLDER = VM_UPSERT + " WHERE vms.revision <= excluded.revision";
  static final String VM_DELETE = "DELETE FROM vms WHERE id = ?";
  static final String LABELS_DELETE = "DELETE FROM vm_labels WHERE vm_id = ?";
  static final String LABEL_INSERT = "INSERT INTO vm_labels(vm_id, key, value) VALUES (?, ?, ?)";
  /** The start of a listing; {@link VmRows#list} appends one fixed clause per filter part. */
  static final String VMS_AFTER = "SELECT " + VM_COLUMNS + " FROM vms v WHERE v.id > ?";
  static final String AND_PHASE = " AND v.phase = ?";
  static final String AND_NODE = " AND v.node = ?";
  /**
   * Driven by the label index (key, value, vm_id) from the page's start: a rare label reads only its own
   * VMs, where an EXISTS per row made SQLite walk every VM to fill one page.
   */
  static final String AND_LABEL =
      " AND v.id IN (SELECT l.vm_id FROM vm_labels l WHERE l.key = ? AND l.value = ? AND l.vm_id > ?)";
  static final String ORDER_BY_ID_LIMIT = " ORDER BY v.id LIMIT ?";

  static final String REQUEST_VM = "SELECT vm_id FROM request_ids WHERE request_id = ?";
  static final String REQUEST_INSERT = "INSERT INTO request_ids(request_id, vm_id) VALUES (?, ?)";

  static final String EVENT_INSERT = "INSERT INTO events(seq, vm_id, json, node, vm_seq) VALUES (?, ?, ?, ?, ?)";
  static final String AGENT_EVENTS_NUMBERED = "SELECT json FROM events WHERE node = ? AND vm_id = ? AND vm_seq = ?";
  static final String EVENTS_AFTER = "SELECT seq, json FROM events WHERE seq > ? ORDER BY seq LIMIT ?";
  static final String EVENTS_OF_VM_AFTER =
      "SELECT seq, json FROM events WHERE vm_id = ? AND seq > ? ORDER BY seq LIMIT ?";
  static final String MAX_SEQ = "SELECT COALESCE(MAX(seq), 0) FROM events";
  static final String MIN_SEQ = "SELECT COALESCE(MIN(seq), 0) FROM events";
  static final String EVENTS_DELETE_BEFORE = "DELETE FROM events WHERE seq < ?";

  static final String NODE_UPSERT = "INSERT INTO nodes(id, endpoint, state, info, last_heartbeat)"
      + " VALUES (?, ?, ?, ?, ?) ON CONFLICT(id) DO UPDATE SET endpoint = excluded.endpoint,"
      + " state = excluded.state, info = excluded.info, last_heartbeat = excluded.last_heartbeat";
  static final String NODES = "SELECT id, endpoint, state, info, last_heartbeat FROM nodes ORDER BY id";

  static final String SAVEPOINT = "SAVEPOINT change";
  static final String RELEASE = "RELEASE SAVEPOINT change";
  static final String ROLLBACK_TO = "ROLLBACK TO SAVEPOINT change";

  private StoreSql() {}
}
