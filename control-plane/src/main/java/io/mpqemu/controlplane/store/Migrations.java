package io.mpqemu.controlplane.store;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/**
 * The schema of each engine as versioned SQL files, {@code db/<engine>/V<n>__<name>.sql} in resources,
 * run by this one small runner for both engines. Each step runs once, in its own transaction, which also
 * records its version in {@code schema_version}; opening an older database runs the steps it lacks, and
 * a database whose schema is newer than this build's is refused with one line. Append steps; never edit
 * a released one ({@code MigrationsTest} pins each released file's checksum).
 *
 * <p>Why not Flyway (13.12.1 still carries SQLite in its core): SQLite data directories made before
 * this runner record their version in {@code schema_version} (version, description, applied_at), which
 * Flyway does not read, so it would need a baseline and two histories side by side; it brings Jackson
 * and commons-text for what is about a hundred lines here; and both engines' steps are plain DDL.
 * A file's statements end with ';' at the end of a line, and lines starting with "--" are comments: the
 * runner splits on that and nothing else, so a statement never holds ';' itself.
 */
final class Migrations {

  /** Where each engine's steps are, in order, and how it creates its version table. */
  enum Engine {
    SQLITE("sqlite", "another data directory",
        List.of("V1__tables.sql", "V2__listing_indexes.sql", "V3__vm_owner.sql", "V4__agent_event_ids.sql"),
        "CREATE TABLE IF NOT EXISTS schema_version ("
            + "version INTEGER NOT NULL PRIMARY KEY, description TEXT NOT NULL, applied_at TEXT NOT NULL) STRICT"),
    POSTGRESQL("postgresql", "another database",
        List.of("V1__schema.sql", "V2__leader_lease.sql", "V3__agent_event_ids.sql", "V4__control_planes.sql"),
        "CREATE TABLE IF NOT EXISTS schema_version ("
            + "version INTEGER NOT NULL PRIMARY KEY, description TEXT NOT NULL, applied_at TEXT NOT NULL)");

    private final String directory;
    private final String elsewhere;
    private final List<String> files;
    private final String versionTable;

    Engine(String directory, String elsewhere, List<String> files, String versionTable) {
      this.directory = directory;
      this.elsewhere = elsewhere;
      this.files = files;
      this.versionTable = versionTable;
    }

    /** The resource path of each step, in order. */
    List<String> resources() {
      return files.stream().map(file -> "db/" + directory + "/" + file).toList();
    }
  }

  /** One step: the statements that take the schema from {@code version - 1} to {@code version}. */
  record Step(int version, String description, List<String> statements) {}

  private Migrations() {}

  static int latest(Engine engine) {
    return engine.files.size();
  }

  /** The engine's steps, read from resources; the n-th file must be version n. */
  static List<Step> steps(Engine engine) {
    List<Step> steps = new ArrayList<>();
    for (String resource : engine.resources()) {
      String name = resource.substring(resource.lastIndexOf('/') + 1);
      int version = Integer.parseInt(name.substring(1, name.indexOf("__")));
      if (version != steps.size() + 1) {
        throw new IllegalStateException(resource + " is out of order: expected version " + (steps.size() + 1));
      }
      steps.add(parse(version, read(resource)));
    }
    return steps;
  }

  /** Brings the database of {@code store} (as messages name it) to {@code target}; lower than latest is for tests. */
  static void migrate(Connection connection, Engine engine, String store, int target) throws SQLException {
    try (Statement statement = connection.createStatement()) {
      statement.execute(engine.versionTable);
    }
    int current = version(connection);
    if (current > latest(engine)) {
      throw JdbcStore.unavailable(capitalized(store) + " was written by a newer mpqemu: schema version " + current
          + ", this build knows up to " + latest(engine) + ". Run a newer mpqemu, or point this one at "
          + engine.elsewhere + ".", null);
    }
    for (Step step : steps(engine)) {
      if (step.version() > current && step.version() <= target) {
        apply(connection, engine, store, step);
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

  /** Runs one step unless another process applied it meanwhile (checked under the writers' lock). */
  private static void apply(Connection connection, Engine engine, String store, Step step) throws SQLException {
    begin(connection, engine);
    try {
      if (version(connection) < step.version()) {
        try (Statement statement = connection.createStatement()) {
          for (String sql : step.statements()) {
            statement.execute(sql);
          }
        }
        try (PreparedStatement record = connection.prepareStatement(
            "INSERT INTO schema_version(version, description, applied_at) VALUES (?, ?, ?)")) {
          record.setInt(1, step.version());
          record.setString(2, step.description());
          record.setString(3, Instant.now().toString());
          record.executeUpdate();
        }
      }
      end(connection, engine, true);
    } catch (SQLException e) {
      try {
        end(connection, engine, false);
      } catch (SQLException rollbackFailure) {
        e.addSuppressed(rollbackFailure);
      }
      throw JdbcStore.unavailable("Upgrading " + store + " to schema version " + step.version() + " ("
          + step.description() + ") failed: " + e.getMessage(), e);
    }
  }

  /** SQLite: BEGIN IMMEDIATE takes the file's write lock; PostgreSQL: DDL is transactional, and the lock
   * on schema_version keeps two control planes starting at once from running the same step. */
  private static void begin(Connection connection, Engine engine) throws SQLException {
    try (Statement statement = connection.createStatement()) {
      if (engine == Engine.SQLITE) {
        statement.execute("BEGIN IMMEDIATE");
      } else {
        connection.setAutoCommit(false);
        statement.execute("LOCK TABLE schema_version IN EXCLUSIVE MODE");
      }
    }
  }

  private static void end(Connection connection, Engine engine, boolean commit) throws SQLException {
    if (engine == Engine.SQLITE) {
      try (Statement statement = connection.createStatement()) {
        statement.execute(commit ? "COMMIT" : "ROLLBACK");
      }
      return;
    }
    try {
      if (commit) {
        connection.commit();
      } else {
        connection.rollback();
      }
    } finally {
      connection.setAutoCommit(true);
    }
  }

  /** The first line is "-- description"; the statements follow, each ending with ';' at a line's end. */
  static Step parse(int version, String text) {
    List<String> lines = text.lines().toList();
    if (lines.isEmpty() || !lines.get(0).startsWith("-- ")) {
      throw new IllegalStateException("schema step " + version + " must start with a '-- description' line");
    }
    List<String> statements = new ArrayList<>();
    StringBuilder current = new StringBuilder();
    for (String line : lines) {
      if (line.strip().startsWith("--") || line.isBlank()) {
        continue;
      }
      current.append(current.length() == 0 ? "" : "\n").append(line);
      if (line.stripTrailing().endsWith(";")) {
        String sql = current.toString().stripTrailing();
        statements.add(sql.substring(0, sql.length() - 1));
        current.setLength(0);
      }
    }
    if (!current.toString().isBlank()) {
      throw new IllegalStateException("schema step " + version + " ends without ';': " + current);
    }
    return new Step(version, lines.get(0).substring(3).strip(), List.copyOf(statements));
  }

  private static String read(String resource) {
    try (InputStream in = Migrations.class.getClassLoader().getResourceAsStream(resource)) {
      if (in == null) {
        throw new IllegalStateException("schema step " + resource + " is missing from the build");
      }
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  static String capitalized(String text) {
    return Character.toUpperCase(text.charAt(0)) + text.substring(1);
  }
}
