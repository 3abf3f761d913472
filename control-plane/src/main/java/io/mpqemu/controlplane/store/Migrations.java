package io.mpqemu.controlplane.store;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Instant;
import java.util.List;

/**
 * The SQLite schema as an ordered list of steps. Each step runs once, in its own transaction, which
 * also records its version in {@code schema_version}; opening an older database runs the steps it
 * lacks, and a database written by a newer build is refused. Append steps; never edit a released one.
 */
final class Migrations {

  /** One step of the schema: the statements that take it from {@code version - 1} to {@code version}. */
  record Step(int version, String description, List<String> statements) {}

  static final List<Step> STEPS = List.of(
      new Step(1, "tables for VMs, their labels, events, request ids and nodes", List.of(
          """
          CREATE TABLE vms (
            id TEXT NOT NULL PRIMARY KEY,
            name TEXT NOT NULL UNIQUE,
            spec TEXT NOT NULL,
            desired_state TEXT NOT NULL,
            revision INTEGER NOT NULL,
            status TEXT,
            phase TEXT NOT NULL,
            node TEXT NOT NULL,
            created_at TEXT,
            updated_at TEXT
          ) STRICT""",
          """
          CREATE TABLE vm_labels (
            vm_id TEXT NOT NULL REFERENCES vms(id) ON DELETE CASCADE,
            key TEXT NOT NULL,
            value TEXT NOT NULL,
            PRIMARY KEY (vm_id, key)
          ) WITHOUT ROWID, STRICT""",
          """
          CREATE TABLE events (
            seq INTEGER PRIMARY KEY,
            vm_id TEXT NOT NULL,
            json TEXT NOT NULL
          ) STRICT""",
          """
          CREATE TABLE request_ids (
            request_id TEXT NOT NULL PRIMARY KEY,
            vm_id TEXT NOT NULL
          ) STRICT""",
          """
          CREATE TABLE nodes (
            id TEXT NOT NULL PRIMARY KEY,
            endpoint TEXT NOT NULL,
            state TEXT NOT NULL,
            info TEXT NOT NULL,
            last_heartbeat TEXT
          ) STRICT""")),
      new Step(2, "indexes for listing VMs by phase, node and label, and one VM's events", List.of(
          "CREATE INDEX vms_by_phase ON vms(phase, id)",
          "CREATE INDEX vms_by_node ON vms(node, id)",
          "CREATE INDEX vm_labels_by_entry ON vm_labels(key, value, vm_id)",
          "CREATE INDEX events_by_vm ON events(vm_id, seq)")),
      new Step(3, "who created each VM (quotas count by it; '' for VMs created before)", List.of(
          "ALTER TABLE vms ADD COLUMN owner TEXT NOT NULL DEFAULT ''")));

  private Migrations() {}

  static int latest() {
    return STEPS.get(STEPS.size() - 1).version();
  }

  /** Brings the database to the latest version. */
  static void migrate(Connection connection, Path file) throws SQLException {
    migrate(connection, file, latest());
  }

  /** Brings the database to {@code target}; a lower target than the latest is for tests. */
  static void migrate(Connection connection, Path file, int target) throws SQLException {
    try (Statement statement = connection.createStatement()) {
      statement.execute("CREATE TABLE IF NOT EXISTS schema_version ("
          + "version INTEGER NOT NULL PRIMARY KEY, description TEXT NOT NULL, applied_at TEXT NOT NULL) STRICT");
    }
    int current = version(connection);
    if (current > latest()) {
      throw new StoreException(StoreException.Kind.UNAVAILABLE, "The store " + file
          + " was written by a newer mpqemu: schema version " + current + ", this build knows up to " + latest()
          + ". Run a newer mpqemu, or point this one at another data directory.", null);
    }
    for (Step step : STEPS) {
      if (step.version() > current && step.version() <= target) {
        apply(connection, file, step);
      }
    }
  }

  /** The highest applied version, 0 for a new database. */
  static int version(Connection connection) throws SQLException {
    try (Statement statement = connection.createStatement();
        ResultSet rows = statement.executeQuery("SELECT COALESCE(MAX(version), 0) FROM schema_version")) {
      rows.next();
      return rows.getInt(1);
    }
  }

  private static void apply(Connection connection, Path file, Step step) throws SQLException {
    try (Statement statement = connection.createStatement()) {
      statement.execute("BEGIN IMMEDIATE");
      try {
        for (String sql : step.statements()) {
          statement.execute(sql);
        }
        try (PreparedStatement record = connection.prepareStatement(
            "INSERT INTO schema_version(version, description, applied_at) VALUES (?, ?, ?)")) {
          record.setInt(1, step.version());
          record.setString(2, step.description());
          record.setString(3, Instant.now().toString());
          record.executeUpdate();
        }
        statement.execute("COMMIT");
      } catch (SQLException e) {
        try {
          statement.execute("ROLLBACK");
        } catch (SQLException rollbackFailure) {
          e.addSuppressed(rollbackFailure);
        }
        throw new StoreException(StoreException.Kind.UNAVAILABLE, "Upgrading the store " + file + " to schema version "
            + step.version() + " (" + step.description() + ") failed: " + e.getMessage(), e);
      }
    }
  }
}
