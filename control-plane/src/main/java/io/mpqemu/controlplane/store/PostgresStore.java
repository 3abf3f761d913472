package io.mpqemu.controlplane.store;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The {@link Store} in a PostgreSQL database, which several control planes may share. A commit returns
 * once PostgreSQL has flushed it ({@code synchronous_commit} is on for every session, {@code fsync} on
 * the server: both checked when connecting). Seqs come from the one row of {@code event_counter}, locked
 * and updated in the transaction that records the events: writers of every control plane serialize on
 * that row, and a rolled-back transaction leaves no gap (a sequence would).
 *
 * <p>A lost connection makes calls fail with UNAVAILABLE naming the database, and the next call
 * connects again: no restart is needed when the database returns. A commit whose connection broke
 * during COMMIT has an unknown outcome; it is reported UNAVAILABLE (never acknowledged), and a retry of
 * the same change then finds it applied (CONFLICT) or not.
 */
public final class PostgresStore extends JdbcStore {

  private static final Logger LOG = LoggerFactory.getLogger(PostgresStore.class);
  /** Below the shortest sensible lease: a session stuck in a transaction must not outlive its leader's term. */
  static final int IDLE_IN_TRANSACTION_MILLIS = 2000;
  static final int LOCK_TIMEOUT_MILLIS = 1000;
  private static final String FENCE = "SELECT 1 FROM leader_lease"
      + " WHERE id = 1 AND holder = ? AND epoch = ? AND expires_at > now() FOR SHARE";
  /** The channel a commit that recorded events notifies, with its last seq: {@link PostgresEventWatch} listens. */
  static final String CHANNEL = "mpqemu_events";
  private static final String NOTIFY = "SELECT pg_notify('" + CHANNEL + "', ?)";
  private static final String LOCK_SEQ = "SELECT last_seq FROM event_counter WHERE id = 1 FOR UPDATE";
  private static final String STORE_SEQ = "UPDATE event_counter SET last_seq = ? WHERE id = 1";
  private static final String LAST_SEQ = "SELECT last_seq FROM event_counter WHERE id = 1";

  private final PostgresTarget target;
  /** The open connection's statements; null while disconnected. */
  private Statements statements;
  private boolean lost;
  /** Set by {@link #fenceWrites}: whose lease, and in which epoch, every commit checks. */
  private volatile String fenceHolder;
  private volatile LongSupplier fenceEpoch;
  /** The event log's last seq when the group being committed began. */
  private long groupStartSeq;

  private PostgresStore(PostgresTarget target, boolean readOnly, Connection connection) {
    super(readOnly);
    this.target = target;
    this.statements = connection == null ? null : new Statements(connection);
  }

  /**
   * Connects, checks durability and brings the schema up to date.
   *
   * @throws StoreException UNAVAILABLE with a one-line message naming the database and what to fix
   */
  public static PostgresStore open(PostgresTarget target) {
    return open(target, Migrations.latest(Migrations.Engine.POSTGRESQL));
  }

  /** Opens the store with its schema brought to {@code schemaVersion} only: for tests of upgrades. */
  static PostgresStore open(PostgresTarget target, int schemaVersion) {
    Connection connection = connect(target, false);
    try {
      Migrations.migrate(connection, Migrations.Engine.POSTGRESQL, target.describe(), schemaVersion);
    } catch (SQLException | RuntimeException e) {
      closeQuietly(connection);
      if (e instanceof StoreException known) {
        throw known;
      }
      throw unavailable(target.describe() + " is unavailable: " + oneLine(e), e);
    }
    return new PostgresStore(target, false, connection);
  }

  /** A reader on a connection of its own, made at its first call. */
  @Override
  public Store reader() {
    ensureOpen();
    return new PostgresStore(target, true, null);
  }

  /**
   * A connection that commits durably; a failure's message names the database and what to fix.
   */
  static Connection connect(PostgresTarget target, boolean readOnly) {
    Connection connection;
    try {
      connection = DriverManager.getConnection(target.jdbcUrl(), target.properties());
    } catch (SQLException e) {
      throw lostConnection(target, PostgresErrors.connectFailure(target, e), e);
    }
    try {
      ensureDurable(connection, target);
      if (!readOnly) {
        try (Statement statement = connection.createStatement()) {
          // a writer cut off in the middle of a transaction holds the lease row (the fence, FOR SHARE): the
          // database ends such a session soon, so that the next leader can take the lease
          statement.execute("SET idle_in_transaction_session_timeout = " + IDLE_IN_TRANSACTION_MILLIS);
          // and a lease attempt waiting behind that lock fails soon and tries again at its next period
          statement.execute("SET lock_timeout = " + LOCK_TIMEOUT_MILLIS);
        }
      }
      connection.setReadOnly(readOnly);
      return connection;
    } catch (SQLException | RuntimeException e) {
      closeQuietly(connection);
      if (e instanceof StoreException known) {
        throw known;
      }
      throw unavailable(target.describe() + " is unavailable: " + oneLine(e), e);
    }
  }

  /** fsync must be on (a server setting); synchronous_commit is set on for this session when it is off. */
  private static void ensureDurable(Connection connection, PostgresTarget target) throws SQLException {
    try (Statement statement = connection.createStatement()) {
      if (!"on".equals(show(statement, "fsync"))) {
        throw unavailable(target.describe() + " runs with fsync=off, so a commit would not survive a crash:"
            + " set fsync = on in its postgresql.conf.", null);
      }
      if ("off".equals(show(statement, "synchronous_commit"))) {
        statement.execute("SET synchronous_commit = on");
      }
      if ("off".equals(show(statement, "synchronous_commit"))) {
        throw unavailable(target.describe() + " did not accept synchronous_commit=on; commits would not be durable.",
            null);
      }
    }
  }

  private static String show(Statement statement, String setting) throws SQLException {
    try (ResultSet rows = statement.executeQuery("SHOW " + setting)) {
      return rows.next() ? rows.getString(1) : null;
    }
  }

  @Override
  Statements statements() {
    if (statements == null) {
      statements = new Statements(connect(target, isReadOnly()));
      if (lost) {
        lost = false;
        LOG.info("store: {} is reachable again{}", target.describe(), isReadOnly() ? " (reader)" : "");
      }
    }
    return statements;
  }

  /** Takes the counter row's lock: from here until commit, this transaction is the only writer. */
  @Override
  long beginAndLockSeq(Statements statements) throws SQLException {
    statements.connection().setAutoCommit(false);
    long seq = lastSeq(statements, LOCK_SEQ);
    checkFence(statements);
    groupStartSeq = seq;
    return seq;
  }

  @Override
  public void fenceWrites(String holder, LongSupplier epoch) {
    this.fenceHolder = holder;
    this.fenceEpoch = epoch;
  }

  /**
   * When fenced: the transaction goes on only while this control plane holds the lease in the epoch it
   * leads in, and holds the lease row (FOR SHARE) until it commits, so that no other control plane can take
   * the lease between this check and the commit: an old leader's late write is refused, never applied.
   */
  private void checkFence(Statements statements) throws SQLException {
    LongSupplier epoch = fenceEpoch;
    if (epoch == null) {
      return;
    }
    long term = epoch.getAsLong();
    boolean holds = false;
    if (term > 0) {
      PreparedStatement check = statements.prepare(FENCE);
      check.setString(1, fenceHolder);
      check.setLong(2, term);
      try (ResultSet row = check.executeQuery()) {
        holds = row.next();
      }
    }
    if (!holds) {
      String refusal = "this control plane (" + fenceHolder + ") does not lead " + (term > 0 ? "in epoch " + term
          + " any more" : "now") + ": nothing was written; send writes to the leader";
      throw new StoreException(StoreException.Kind.UNAVAILABLE, refusal, refusal, null); // says nothing of the store
    }
  }

  @Override
  void commitWithSeq(Statements statements, long lastSeq) throws SQLException {
    PreparedStatement update = statements.prepare(STORE_SEQ);
    update.setLong(1, lastSeq);
    update.executeUpdate();
    if (lastSeq > groupStartSeq) {
      // delivered when (and only if) the transaction commits: other control planes read from their last seq
      PreparedStatement notify = statements.prepare(NOTIFY);
      notify.setString(1, Long.toString(lastSeq));
      notify.execute();
    }
    statements.connection().commit();
    statements.connection().setAutoCommit(true);
  }

  @Override
  void rollback(Statements statements) throws SQLException {
    if (this.statements != statements) {
      return; // the connection was dropped: the server rolled the transaction back
    }
    statements.connection().rollback();
    statements.connection().setAutoCommit(true);
  }

  @Override
  long readLastSeq(Statements statements) throws SQLException {
    return lastSeq(statements, LAST_SEQ);
  }

  private static long lastSeq(Statements statements, String sql) throws SQLException {
    try (ResultSet rows = statements.prepare(sql).executeQuery()) {
      if (!rows.next()) {
        throw new SQLException("the event_counter row is missing", "55000");
      }
      return rows.getLong(1);
    }
  }

  @Override
  boolean isConflict(SQLException e) {
    return e.getSQLState() != null && e.getSQLState().startsWith("23");
  }

  /** Class 22, data exceptions: a NUL byte or an invalid character in text, a value out of range. */
  @Override
  boolean isUnstorable(SQLException e) {
    return e.getSQLState() != null && e.getSQLState().startsWith("22");
  }

  @Override
  String describe() {
    return target.describe();
  }

  /** The database cannot be reached: the operator reads why, a caller which database and that it may retry. */
  private static StoreException lostConnection(PostgresTarget target, String why, Throwable cause) {
    return new StoreException(StoreException.Kind.UNAVAILABLE, target.describe() + " is unavailable: " + why,
        "the control plane's store, " + target.describe() + ", is unavailable; retry once it is back", cause);
  }

  /** A lost connection is dropped (the next call connects again) and reported once per loss. */
  @Override
  StoreException failed(String doing, SQLException e) {
    if (PostgresErrors.connectionLost(e, statements == null ? null : statements.connection())) {
      dropConnection();
      if (!lost) {
        lost = true;
        LOG.warn("store: {} is unavailable{}: {}; connecting again at the next call", target.describe(),
            isReadOnly() ? " (reader)" : "", oneLine(e));
      }
      return lostConnection(target, oneLine(e), e);
    }
    return new StoreException(StoreException.Kind.FAILED, doing + " " + target.describe() + " failed: " + oneLine(e), e);
  }

  private void dropConnection() {
    if (statements != null) {
      try {
        statements.close();
      } catch (SQLException ignored) {
        // it is gone already
      }
      statements = null;
    }
  }

  @Override
  void closeConnection() {
    dropConnection();
  }

  /** A setting of this store's own session, as PostgreSQL reports it: for tests. */
  String setting(String name) {
    return sessionValue("SHOW", name);
  }

  static void closeQuietly(Connection connection) {
    try {
      connection.close();
    } catch (SQLException ignored) {
      // closing a connection that failed its checks
    }
  }

  static String oneLine(Exception e) {
    String message = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
    return message.replaceAll("\\s*\\R\\s*", " ").strip();
  }
}
