package io.mpqemu.controlplane.store;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Properties;

/**
 * The {@link Store} in one SQLite file, in WAL mode with {@code synchronous=FULL}: a commit returns once
 * its transaction is synced to the WAL. One connection writes, prepared statements only; readers
 * ({@link #reader()}) each have a read-only connection of their own, which WAL lets run beside the
 * writer. The writer holds a lock file: one control plane per file.
 */
public final class SqliteStore extends JdbcStore {

  private static final int BUSY_TIMEOUT_MILLIS = 5_000;
  private static final String SYNCHRONOUS_FULL = "2";
  private static final int SQLITE_CONSTRAINT = 19;
  private static final int SQLITE_BUSY = 5;
  private static final int SQLITE_LOCKED = 6;

  private final Path file;
  private final Statements statements;
  /** Held by the writer while open; null for a reader. */
  private final FileLock writerLock;

  private SqliteStore(Path file, Connection connection, FileLock writerLock) {
    super(writerLock == null);
    this.file = file;
    this.statements = new Statements(connection);
    this.writerLock = writerLock;
  }

  /**
   * Opens the store in {@code file}, creating it (and its directory) when missing and upgrading its
   * schema when it is older than this build's.
   *
   * @throws StoreException UNAVAILABLE when the file cannot be opened, is newer than this build, or
   *     WAL and synchronous=FULL cannot be set
   */
  public static SqliteStore open(Path file) {
    return open(file, Migrations.latest(Migrations.Engine.SQLITE));
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
      Migrations.migrate(connection, Migrations.Engine.SQLITE, "the store " + absolute, schemaVersion);
      SqliteFiles.restrict(absolute);
      return new SqliteStore(absolute, connection, lock);
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

  /** A read-only connection to the same file: no lock file, no migration (the writer did both). */
  @Override
  public synchronized Store reader() {
    ensureOpen();
    Properties properties = new Properties();
    properties.setProperty("open_mode", "1"); // SQLITE_OPEN_READONLY
    properties.setProperty("busy_timeout", String.valueOf(BUSY_TIMEOUT_MILLIS));
    try {
      Connection connection = DriverManager.getConnection("jdbc:sqlite:" + file, properties);
      try (Statement statement = connection.createStatement()) {
        statement.execute("PRAGMA query_only = ON");
      }
      return new SqliteStore(file, connection, null);
    } catch (SQLException e) {
      throw unavailable("Cannot open a reader of the store " + file + ": " + e.getMessage(), e);
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
    } catch (OverlappingFileLockException e) {
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
      // a group commit's savepoint needs a statement journal: in memory, not a temporary file created,
      // written and deleted on every commit (it is never durable anyway: the WAL is)
      statement.execute("PRAGMA temp_store = MEMORY");
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
  Statements statements() {
    return statements;
  }

  /** BEGIN IMMEDIATE takes the write lock now; the writer is alone (the lock file), so MAX(seq) is the last seq. */
  @Override
  long beginAndLockSeq(Statements statements) throws SQLException {
    statements.execute("BEGIN IMMEDIATE");
    return readLastSeq(statements);
  }

  @Override
  void commitWithSeq(Statements statements, long lastSeq) throws SQLException {
    statements.execute("COMMIT");
  }

  @Override
  void rollback(Statements statements) throws SQLException {
    statements.execute("ROLLBACK");
  }

  @Override
  long readLastSeq(Statements statements) throws SQLException {
    try (ResultSet rows = statements.prepare(StoreSql.MAX_SEQ).executeQuery()) {
      rows.next();
      return rows.getLong(1);
    }
  }

  @Override
  boolean isConflict(SQLException e) {
    return (e.getErrorCode() & 0xff) == SQLITE_CONSTRAINT;
  }

  @Override
  boolean isUnstorable(SQLException e) {
    return false;
  }

  @Override
  String describe() {
    return "the store " + file;
  }

  @Override
  StoreException failed(String doing, SQLException e) {
    int code = e.getErrorCode() & 0xff;
    if (code == SQLITE_BUSY || code == SQLITE_LOCKED) {
      return new StoreException(StoreException.Kind.UNAVAILABLE, doing + " the store " + file + " failed: "
          + e.getMessage(), "the control plane's SQLite store is busy; retry", e);
    }
    return new StoreException(StoreException.Kind.FAILED, doing + " the store " + file + " failed: " + e.getMessage(), e);
  }

  @Override
  void closeConnection() throws SQLException {
    try {
      statements.close();
    } finally {
      if (writerLock != null) {
        release(writerLock);
      }
    }
  }

  /** A pragma of this store's own connection, as SQLite reports it: for tests. */
  String pragma(String name) {
    return sessionValue("PRAGMA", name);
  }
}
