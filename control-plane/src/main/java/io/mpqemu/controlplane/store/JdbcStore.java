package io.mpqemu.controlplane.store;

import io.mpqemu.v1.NodeInfo;
import io.mpqemu.v1.NodeState;
import io.mpqemu.v1.VmEvent;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * What both engines share: the savepoint per change of a group commit ({@link ChangeWriter} applies
 * each change), and reading rows. An engine
 * says how a transaction starts and ends, where the last seq is kept, which errors are conflicts and
 * how a failure reads. Every method is synchronized: calls from different threads are safe too.
 */
abstract class JdbcStore implements Store {

  private final boolean readOnly;
  private boolean closed;

  JdbcStore(boolean readOnly) {
    this.readOnly = readOnly;
  }

  final boolean isReadOnly() {
    return readOnly;
  }

  /** The statements of the open connection; an engine that lost its connection opens a new one here. */
  abstract Statements statements() throws SQLException;

  /** Starts a write transaction and returns the last seq, read under the lock that serializes writers. */
  abstract long beginAndLockSeq(Statements statements) throws SQLException;

  /** Records the last seq of the transaction and commits it durably. */
  abstract void commitWithSeq(Statements statements, long lastSeq) throws SQLException;

  abstract void rollback(Statements statements) throws SQLException;

  abstract long readLastSeq(Statements statements) throws SQLException;

  /** A unique or foreign key violation: the change clashes with stored data. */
  abstract boolean isConflict(SQLException e);

  /** A value the engine cannot store (PostgreSQL: a NUL byte in text): the change fails alone, not its group. */
  abstract boolean isUnstorable(SQLException e);

  /** "the store /path" or "PostgreSQL at host:port/db": how messages name this store. */
  abstract String describe();

  /** The exception for a failed {@code doing} (the engine also forgets a connection it lost). */
  abstract StoreException failed(String doing, SQLException e);

  abstract void closeConnection() throws SQLException;

  @Override
  public final synchronized List<Result> commitAll(List<Change> changes) {
    ensureWritable();
    Statements statements = null;
    try {
      statements = statements();
      long seq;
      try {
        seq = beginAndLockSeq(statements);
      } catch (SQLException e) {
        // nothing was applied yet: a connection lost since its last use (a restarted database) is replaced once
        StoreException failure = failed("Committing to", e);
        if (failure.kind() != StoreException.Kind.UNAVAILABLE) {
          throw failure;
        }
        rollbackQuietly(statements, e);
        statements = statements();
        seq = beginAndLockSeq(statements);
      }
      List<Result> results = changes.size() == 1 ? null : applyAll(statements, changes, seq);
      if (results == null) {
        // one change, or a group in which one failed: each change in a savepoint of its own, so only it fails
        results = new ArrayList<>(changes.size());
        for (Change change : changes) {
          Result result = applyInSavepoint(statements, change, seq);
          seq += result.events().size();
          results.add(result);
        }
      } else {
        seq += results.stream().mapToLong(r -> r.events().size()).sum();
      }
      commitWithSeq(statements, seq);
      return results;
    } catch (SQLException e) {
      rollbackQuietly(statements, e);
      throw failed("Committing to", e);
    } catch (RuntimeException e) {
      rollbackQuietly(statements, e);
      throw e;
    }
  }

  /**
   * Writes the whole group with one batch per kind of row ({@link GroupWriter}) under one savepoint, the
   * common case; when a batch fails (a clash) or the group writes one VM twice, everything is rolled back to
   * the savepoint and null answered, for the caller to write the changes one savepoint each.
   */
  private List<Result> applyAll(Statements statements, List<Change> changes, long lastSeq) throws SQLException {
    statements.execute(StoreSql.SAVEPOINT);
    try {
      List<List<VmEvent>> recorded = GroupWriter.apply(statements, changes, lastSeq);
      if (recorded == null) {
        undo(statements);
        return null;
      }
      statements.execute(StoreSql.RELEASE);
      return recorded.stream().map(Result::recorded).toList();
    } catch (SQLException | RuntimeException e) {
      if (e instanceof SQLException sql && lost(sql)) {
        throw sql; // the connection failed: the whole group fails, as before
      }
      undo(statements);
      return null;
    }
  }

  /** Whether {@code e} means the store cannot be used now (a lost connection, a busy file), not a refused row. */
  private boolean lost(SQLException e) {
    return failed("Committing to", e).kind() == StoreException.Kind.UNAVAILABLE;
  }

  /** Applies one change in a savepoint; a refused change is rolled back to it and reported, not thrown. */
  private Result applyInSavepoint(Statements statements, Change change, long lastSeq) throws SQLException {
    statements.execute(StoreSql.SAVEPOINT);
    try {
      List<VmEvent> recorded = ChangeWriter.apply(statements, change, lastSeq);
      statements.execute(StoreSql.RELEASE);
      return Result.recorded(recorded);
    } catch (SQLException e) {
      if (isConflict(e)) {
        undo(statements);
        return Result.refused(new StoreException(StoreException.Kind.CONFLICT,
            "The change clashes with stored data: " + e.getMessage(), e));
      }
      if (isUnstorable(e)) {
        undo(statements);
        return Result.refused(new StoreException(StoreException.Kind.FAILED, Migrations.capitalized(describe())
            + " cannot store the change: " + e.getMessage(), e));
      }
      throw e;
    } catch (RuntimeException e) {
      undo(statements);
      return Result.refused(e);
    }
  }

  private static void undo(Statements statements) throws SQLException {
    statements.execute(StoreSql.ROLLBACK_TO);
    statements.execute(StoreSql.RELEASE);
  }

  private void rollbackQuietly(Statements statements, Exception cause) {
    if (statements == null) {
      return;
    }
    try {
      rollback(statements);
    } catch (SQLException e) {
      // the engine may have rolled back already (SQLite does on I/O errors), or the connection is gone
      cause.addSuppressed(e);
    }
  }

  @Override
  public final synchronized Optional<StoredVm> vm(String id) {
    return read(statements -> new VmRows(statements).byId(id));
  }

  @Override
  public final synchronized Optional<StoredVm> vmByName(String name) {
    return read(statements -> new VmRows(statements).byName(name));
  }

  @Override
  public final synchronized Optional<String> vmIdForRequest(String requestId) {
    return read(statements -> ChangeWriter.requestVm(statements, requestId));
  }

  @Override
  public final synchronized List<StoredVm> listVms(VmFilter filter, String afterId, int limit) {
    requirePositive(limit);
    return read(statements -> new VmRows(statements).list(filter, afterId, limit));
  }

  @Override
  public final synchronized List<VmEvent> events(long afterSeq, String vmId, int limit) {
    requirePositive(limit);
    boolean oneVm = vmId != null && !vmId.isEmpty();
    return read(statements -> {
      PreparedStatement query = statements.prepare(oneVm ? StoreSql.EVENTS_OF_VM_AFTER : StoreSql.EVENTS_AFTER);
      int index = 1;
      if (oneVm) {
        query.setString(index++, vmId);
      }
      query.setLong(index++, afterSeq);
      query.setInt(index, limit);
      List<VmEvent> events = new ArrayList<>();
      try (ResultSet rows = query.executeQuery()) {
        while (rows.next()) {
          events.add(ProtoJson.parse(rows.getString(2), VmEvent.newBuilder(), "event " + rows.getLong(1)));
        }
      }
      return events;
    });
  }

  @Override
  public final synchronized long lastSeq() {
    return read(this::readLastSeq);
  }

  @Override
  public final synchronized long firstSeq() {
    return read(statements -> {
      try (ResultSet rows = statements.prepare(StoreSql.MIN_SEQ).executeQuery()) {
        return rows.next() ? rows.getLong(1) : 0;
      }
    });
  }

  @Override
  public final synchronized int deleteEventsBefore(long seq) {
    return writeAlone("Removing old events from", statements -> {
      PreparedStatement delete = statements.prepare(StoreSql.EVENTS_DELETE_BEFORE);
      delete.setLong(1, seq);
      return delete.executeUpdate();
    });
  }

  @Override
  public final synchronized void putNode(StoredNode node) {
    writeAlone("Storing node " + node.id() + " in", statements -> {
      PreparedStatement upsert = statements.prepare(StoreSql.NODE_UPSERT);
      upsert.setString(1, Objects.requireNonNull(node.id(), "a node needs an id"));
      upsert.setString(2, node.endpoint() == null ? "" : node.endpoint());
      upsert.setString(3, (node.state() == null ? NodeState.NODE_STATE_UNSPECIFIED : node.state()).name());
      upsert.setString(4, ProtoJson.print(node.info() == null ? NodeInfo.getDefaultInstance() : node.info()));
      upsert.setString(5, VmRows.text(node.lastHeartbeat()));
      return upsert.executeUpdate();
    });
  }

  /**
   * A write that records no event, in a transaction of its own that takes the writers' lock and passes the
   * same fence as {@link #commitAll} (on PostgreSQL: only while this control plane holds the lease in its
   * epoch), so a leader that lost its lease cannot remove events or rewrite nodes after the next one took over.
   */
  private <T> T writeAlone(String doing, Query<T> write) {
    ensureWritable();
    Statements statements = null;
    try {
      statements = statements();
      long seq = beginAndLockSeq(statements);
      T result = write.run(statements);
      commitWithSeq(statements, seq);
      return result;
    } catch (SQLException e) {
      rollbackQuietly(statements, e);
      throw failed(doing, e);
    } catch (RuntimeException e) {
      rollbackQuietly(statements, e);
      throw e;
    }
  }

  @Override
  public final synchronized List<StoredNode> nodes() {
    return read(statements -> {
      List<StoredNode> nodes = new ArrayList<>();
      try (ResultSet rows = statements.prepare(StoreSql.NODES).executeQuery()) {
        while (rows.next()) {
          String id = rows.getString(1);
          nodes.add(new StoredNode(id, rows.getString(2), NodeState.valueOf(rows.getString(3)),
              ProtoJson.parse(rows.getString(4), NodeInfo.newBuilder(), "info of node " + id),
              VmRows.instant(rows.getString(5))));
        }
      }
      return nodes;
    });
  }

  @Override
  public final synchronized void close() {
    if (closed) {
      return;
    }
    closed = true;
    try {
      closeConnection();
    } catch (SQLException e) {
      throw failed("Closing", e);
    }
  }

  /** One read: a query on the current connection. */
  interface Query<T> {
    T run(Statements statements) throws SQLException;
  }

  /**
   * Runs a read; when it finds its connection lost (the database restarted since this connection's last
   * use), runs it once more on a new one: a read is safe to repeat, and a caller should not see the
   * restart of a database that is back.
   */
  final <T> T read(Query<T> query) {
    ensureOpen();
    try {
      return query.run(statements());
    } catch (SQLException e) {
      StoreException failure = failed("Reading", e);
      if (failure.kind() != StoreException.Kind.UNAVAILABLE) {
        throw failure;
      }
      try {
        return query.run(statements());
      } catch (SQLException again) {
        throw failed("Reading", again);
      }
    }
  }

  /** What {@code PRAGMA name} or {@code SHOW name} says on this store's own connection: for tests. */
  final synchronized String sessionValue(String keyword, String name) {
    if (!name.matches("[a-z_]+")) {
      throw new IllegalArgumentException("not a setting name: " + name);
    }
    return read(statements -> {
      try (java.sql.Statement statement = statements.connection().createStatement();
          ResultSet rows = statement.executeQuery(keyword + " " + name)) {
        return rows.next() ? rows.getString(1) : null;
      }
    });
  }

  final void ensureOpen() {
    if (closed) {
      String name = describe();
      throw unavailable(Character.toUpperCase(name.charAt(0)) + name.substring(1) + " is closed.", null);
    }
  }

  private void ensureWritable() {
    ensureOpen();
    if (readOnly) {
      throw new IllegalStateException("A reader of " + describe() + " does not write.");
    }
  }

  private static void requirePositive(int limit) {
    if (limit <= 0) {
      throw new IllegalArgumentException("limit must be positive, was " + limit);
    }
  }

  static StoreException unavailable(String message, Throwable cause) {
    return new StoreException(StoreException.Kind.UNAVAILABLE, message, cause);
  }
}
