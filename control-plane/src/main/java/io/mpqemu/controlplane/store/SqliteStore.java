package io.mpqemu.controlplane.store;

import io.mpqemu.v1.NodeInfo;
import io.mpqemu.v1.NodeState;
import io.mpqemu.v1.VmEvent;
import java.io.IOException;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * The {@link Store} in one SQLite file, in WAL mode with {@code synchronous=FULL}: a commit returns once
 * its transaction is synced to the WAL. One connection, prepared statements only; every method is
 * synchronized, so calls from different worker threads are safe too. A change applies its inserts,
 * then its updates, then its deletes, then the request id mapping, then its events.
 */
public final class SqliteStore implements Store {

  private static final int BUSY_TIMEOUT_MILLIS = 5_000;
  private static final String SYNCHRONOUS_FULL = "2";
  private static final int SQLITE_CONSTRAINT = 19;

  private final Path file;
  private final SqliteStatements statements;
  private final SqliteVms vms;
  private final Connection connection;
  /** The seq of the last committed event: read once at open, advanced by each commit. */
  private long lastSeq;
  private boolean closed;

  /** Held while open: one control plane per file, or the cached lastSeq and the log would disagree. */
  private FileLock writerLock;

  private SqliteStore(Path file, Connection connection) throws SQLException {
    this.file = file;
    this.connection = connection;
    this.statements = new SqliteStatements(connection);
    this.vms = new SqliteVms(statements);
    this.lastSeq = readLastSeq();
  }

  /**
   * Opens the store in {@code file}, creating it (and its directory) when missing and upgrading its
   * schema when it is older than this build's.
   *
   * @throws StoreException UNAVAILABLE when the file cannot be opened, is newer than this build, or
   *     WAL and synchronous=FULL cannot be set
   */
  public static SqliteStore open(Path file) {
    return open(file, Migrations.latest());
  }

  /** Opens the store with its schema brought to {@code schemaVersion} only: for tests of upgrades. */
  static SqliteStore open(Path file, int schemaVersion) {
    Path absolute = file.toAbsolutePath();
    if (absolute.toString().contains("?")) {
      throw new IllegalArgumentException("The store path must not contain '?': " + absolute);
    }
    SqliteFiles.prepare(absolute);
    FileLock lock = lockFor(absolute);
    Connection connection;
    try {
      connection = DriverManager.getConnection("jdbc:sqlite:" + absolute);
    } catch (SQLException e) {
      release(lock);
      throw unavailable("Cannot open the store " + absolute + ": " + e.getMessage(), e);
    }
    try {
      configure(connection, absolute);
      Migrations.migrate(connection, absolute, schemaVersion);
      SqliteFiles.restrict(absolute);
      SqliteStore store = new SqliteStore(absolute, connection);
      store.writerLock = lock;
      return store;
    } catch (SQLException | IOException | RuntimeException e) {
      release(lock);
      try {
        connection.close();
      } catch (SQLException closeFailure) {
        e.addSuppressed(closeFailure);
      }
      if (e instanceof RuntimeException runtime) {
        throw runtime;
      }
      throw unavailable("Cannot open the store " + absolute + ": " + e.getMessage(), e);
    }
  }

  private static FileLock lockFor(Path database) {
    Path lockFile = database.resolveSibling(database.getFileName() + ".lock");
    try {
      FileChannel channel = FileChannel.open(lockFile, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
      FileLock lock = channel.tryLock();
      if (lock == null) {
        channel.close();
        throw unavailable("Another control plane has the store " + database + " open (it holds " + lockFile
            + "); run one control plane per data directory", null);
      }
      return lock;
    } catch (java.nio.channels.OverlappingFileLockException e) {
      throw unavailable("This process already has the store " + database + " open", e);
    } catch (IOException e) {
      throw unavailable("Cannot lock the store " + database + ": " + e.getMessage(), e);
    }
  }

  private static void release(FileLock lock) {
    try {
      lock.channel().close();
    } catch (IOException ignored) {
      // the lock goes with the process anyway
    }
  }

  /** Sets and reads back the pragmas durability rests on; PRAGMA takes no parameters, so the values are constants. */
  private static void configure(Connection connection, Path file) throws SQLException {
    try (Statement statement = connection.createStatement()) {
      statement.execute("PRAGMA busy_timeout = " + BUSY_TIMEOUT_MILLIS);
      statement.execute("PRAGMA foreign_keys = ON");
      statement.execute("PRAGMA journal_mode = WAL");
      statement.execute("PRAGMA synchronous = FULL");
      String journalMode = pragma(statement, "journal_mode");
      if (!"wal".equalsIgnoreCase(journalMode)) {
        throw unavailable("The store " + file + " cannot use write-ahead logging (journal_mode is " + journalMode
            + "); put the data directory on a local file system that supports it.", null);
      }
      String synchronous = pragma(statement, "synchronous");
      if (!SYNCHRONOUS_FULL.equals(synchronous)) {
        throw unavailable("The store " + file + " did not accept synchronous=FULL (it is " + synchronous
            + "); commits would not be durable.", null);
      }
      if (!"1".equals(pragma(statement, "foreign_keys"))) {
        throw unavailable("The store " + file + " did not accept foreign_keys=ON.", null);
      }
    }
  }

  private static String pragma(Statement statement, String name) throws SQLException {
    try (ResultSet rows = statement.executeQuery("PRAGMA " + name)) {
      return rows.next() ? rows.getString(1) : null;
    }
  }

  @Override
  public synchronized List<VmEvent> commit(Change change) {
    ensureOpen();
    try {
      statements.execute("BEGIN IMMEDIATE");
    } catch (SQLException e) {
      throw unavailable("Cannot start a transaction in the store " + file + ": " + e.getMessage(), e);
    }
    try {
      Map<String, Long> lastSeqOfVm = seqsOfVms(change.events());
      for (StoredVm vm : change.inserts()) {
        vms.refuseExisting(vm);
        vms.write(withLastEventSeq(vm, lastSeqOfVm));
      }
      for (StoredVm vm : change.updates()) {
        vms.refuseOlder(vm);
        vms.write(withLastEventSeq(vm, lastSeqOfVm));
      }
      for (String id : change.deletes()) {
        vms.delete(id);
      }
      if (change.requestId() != null) {
        mapRequest(change.requestId(), change.requestVmId());
      }
      List<VmEvent> recorded = append(change.events());
      statements.execute("COMMIT");
      lastSeq += recorded.size();
      return recorded;
    } catch (SQLException e) {
      rollback(e);
      if ((e.getErrorCode() & 0xff) == SQLITE_CONSTRAINT) {
        throw new StoreException(StoreException.Kind.CONFLICT, "The change clashes with stored data: "
            + e.getMessage(), e);
      }
      throw unavailable("Committing to the store " + file + " failed: " + e.getMessage(), e);
    } catch (RuntimeException e) {
      rollback(e);
      throw e;
    }
  }

  /** The seq each VM's last event in this change will get: events are numbered from lastSeq + 1, in order. */
  private Map<String, Long> seqsOfVms(List<VmEvent> events) {
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

  private static StoredVm withLastEventSeq(StoredVm vm, Map<String, Long> lastSeqOfVm) {
    Long seq = lastSeqOfVm.get(vm.id());
    if (seq == null || vm.status() == null) {
      return vm;
    }
    return vm.withStatus(vm.status().toBuilder().setLastEventSeq(seq).build(), vm.updatedAt());
  }

  private void mapRequest(String requestId, String vmId) throws SQLException {
    Objects.requireNonNull(vmId, "a request id maps to a VM id");
    Optional<String> mapped = requestVm(requestId);
    if (mapped.isPresent()) {
      throw new StoreException(StoreException.Kind.CONFLICT,
          "The request id " + requestId + " is already mapped to VM " + mapped.get() + ".", null);
    }
    PreparedStatement insert = statements.prepare("INSERT INTO request_ids(request_id, vm_id) VALUES (?, ?)");
    insert.setString(1, requestId);
    insert.setString(2, vmId);
    insert.executeUpdate();
  }

  /** Numbers the events from {@code lastSeq + 1} and inserts them with their seq set in the JSON. */
  private List<VmEvent> append(List<VmEvent> events) throws SQLException {
    PreparedStatement insert = statements.prepare("INSERT INTO events(seq, vm_id, json) VALUES (?, ?, ?)");
    List<VmEvent> recorded = new ArrayList<>(events.size());
    long seq = lastSeq;
    for (VmEvent event : events) {
      VmEvent numbered = event.toBuilder().setSeq(++seq).build();
      insert.setLong(1, seq);
      insert.setString(2, numbered.getVmId());
      insert.setString(3, ProtoJson.print(numbered));
      insert.executeUpdate();
      recorded.add(numbered);
    }
    return List.copyOf(recorded);
  }

  /** Ends a failed transaction and re-reads the last seq, which a failed COMMIT leaves uncertain. */
  private void rollback(Exception cause) {
    try {
      statements.execute("ROLLBACK");
    } catch (SQLException e) {
      // SQLite may have rolled back already (a failed COMMIT does on I/O errors)
      cause.addSuppressed(e);
    }
    try {
      lastSeq = readLastSeq();
    } catch (SQLException e) {
      cause.addSuppressed(e);
    }
  }

  @Override
  public synchronized Optional<StoredVm> vm(String id) {
    ensureOpen();
    try {
      return vms.byId(id);
    } catch (SQLException e) {
      throw readFailed(e);
    }
  }

  @Override
  public synchronized Optional<StoredVm> vmByName(String name) {
    ensureOpen();
    try {
      return vms.byName(name);
    } catch (SQLException e) {
      throw readFailed(e);
    }
  }

  @Override
  public synchronized Optional<String> vmIdForRequest(String requestId) {
    ensureOpen();
    try {
      return requestVm(requestId);
    } catch (SQLException e) {
      throw readFailed(e);
    }
  }

  @Override
  public synchronized List<StoredVm> listVms(VmFilter filter, String afterId, int limit) {
    ensureOpen();
    requirePositive(limit);
    try {
      return vms.list(filter, afterId, limit);
    } catch (SQLException e) {
      throw readFailed(e);
    }
  }

  @Override
  public synchronized List<VmEvent> events(long afterSeq, String vmId, int limit) {
    ensureOpen();
    requirePositive(limit);
    boolean oneVm = vmId != null && !vmId.isEmpty();
    try {
      PreparedStatement query = oneVm
          ? statements.prepare("SELECT seq, json FROM events WHERE vm_id = ? AND seq > ? ORDER BY seq LIMIT ?")
          : statements.prepare("SELECT seq, json FROM events WHERE seq > ? ORDER BY seq LIMIT ?");
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
    } catch (SQLException e) {
      throw readFailed(e);
    }
  }

  @Override
  public synchronized long lastSeq() {
    ensureOpen();
    return lastSeq;
  }

  @Override
  public synchronized long firstSeq() {
    ensureOpen();
    try (ResultSet rows = statements.prepare("SELECT MIN(seq) FROM events").executeQuery()) {
      return rows.next() ? rows.getLong(1) : 0;
    } catch (SQLException e) {
      throw readFailed(e);
    }
  }

  @Override
  public synchronized int deleteEventsBefore(long seq) {
    ensureOpen();
    try {
      PreparedStatement delete = statements.prepare("DELETE FROM events WHERE seq < ?");
      delete.setLong(1, seq);
      return delete.executeUpdate();
    } catch (SQLException e) {
      throw unavailable("Removing old events from " + file + " failed: " + e.getMessage(), e);
    }
  }

  @Override
  public synchronized void putNode(StoredNode node) {
    ensureOpen();
    try {
      PreparedStatement upsert = statements.prepare("INSERT INTO nodes(id, endpoint, state, info, last_heartbeat)"
          + " VALUES (?, ?, ?, ?, ?) ON CONFLICT(id) DO UPDATE SET endpoint = excluded.endpoint,"
          + " state = excluded.state, info = excluded.info, last_heartbeat = excluded.last_heartbeat");
      upsert.setString(1, Objects.requireNonNull(node.id(), "a node needs an id"));
      upsert.setString(2, node.endpoint() == null ? "" : node.endpoint());
      upsert.setString(3, (node.state() == null ? NodeState.NODE_STATE_UNSPECIFIED : node.state()).name());
      upsert.setString(4, ProtoJson.print(node.info() == null ? NodeInfo.getDefaultInstance() : node.info()));
      upsert.setString(5, SqliteVms.text(node.lastHeartbeat()));
      upsert.executeUpdate();
    } catch (SQLException e) {
      throw unavailable("Storing node " + node.id() + " in " + file + " failed: " + e.getMessage(), e);
    }
  }

  @Override
  public synchronized List<StoredNode> nodes() {
    ensureOpen();
    try {
      PreparedStatement query =
          statements.prepare("SELECT id, endpoint, state, info, last_heartbeat FROM nodes ORDER BY id");
      List<StoredNode> nodes = new ArrayList<>();
      try (ResultSet rows = query.executeQuery()) {
        while (rows.next()) {
          String id = rows.getString(1);
          nodes.add(new StoredNode(id, rows.getString(2), NodeState.valueOf(rows.getString(3)),
              ProtoJson.parse(rows.getString(4), NodeInfo.newBuilder(), "info of node " + id),
              SqliteVms.instant(rows.getString(5))));
        }
      }
      return nodes;
    } catch (SQLException e) {
      throw readFailed(e);
    }
  }

  @Override
  public synchronized void close() {
    if (closed) {
      return;
    }
    closed = true;
    try {
      statements.close();
    } catch (SQLException e) {
      throw unavailable("Closing the store " + file + " failed: " + e.getMessage(), e);
    } finally {
      if (writerLock != null) {
        release(writerLock);
      }
    }
  }

  /** A pragma of this store's own connection, as SQLite reports it: for tests. */
  synchronized String pragma(String name) {
    if (!name.matches("[a-z_]+")) {
      throw new IllegalArgumentException("not a pragma name: " + name);
    }
    ensureOpen();
    try (Statement statement = connection.createStatement()) {
      return pragma(statement, name);
    } catch (SQLException e) {
      throw readFailed(e);
    }
  }

  private Optional<String> requestVm(String requestId) throws SQLException {
    PreparedStatement query = statements.prepare("SELECT vm_id FROM request_ids WHERE request_id = ?");
    query.setString(1, requestId);
    try (ResultSet rows = query.executeQuery()) {
      return rows.next() ? Optional.of(rows.getString(1)) : Optional.empty();
    }
  }

  private long readLastSeq() throws SQLException {
    try (ResultSet rows = statements.prepare("SELECT COALESCE(MAX(seq), 0) FROM events").executeQuery()) {
      rows.next();
      return rows.getLong(1);
    }
  }

  private void ensureOpen() {
    if (closed) {
      throw unavailable("The store " + file + " is closed.", null);
    }
  }

  private static void requirePositive(int limit) {
    if (limit <= 0) {
      throw new IllegalArgumentException("limit must be positive, was " + limit);
    }
  }

  private StoreException readFailed(SQLException e) {
    return unavailable("Reading the store " + file + " failed: " + e.getMessage(), e);
  }

  private static StoreException unavailable(String message, Throwable cause) {
    return new StoreException(StoreException.Kind.UNAVAILABLE, message, cause);
  }
}
