package io.mpqemu.controlplane.store;

import io.mpqemu.testing.PostgresServer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Comparator;
import java.util.stream.Stream;

/** Where a contract test keeps its store: a SQLite file in a temporary directory, or a real PostgreSQL database. */
interface StoreEngine extends AutoCloseable {

  /** A store on an empty database (the previous test's data removed). */
  Store openEmpty() throws Exception;

  /** The same database opened again, as after a restart. */
  Store reopen();

  @Override
  void close() throws Exception;

  /** SQLite in a new file for each test. */
  static StoreEngine sqlite() throws IOException {
    Path dir = Files.createTempDirectory("mpqemu-store-");
    return new StoreEngine() {
      private int test;

      @Override
      public Store openEmpty() {
        test++;
        return reopen();
      }

      @Override
      public Store reopen() {
        return SqliteStore.open(dir.resolve("store-" + test + ".db"));
      }

      @Override
      public void close() throws IOException {
        try (Stream<Path> files = Files.walk(dir)) {
          files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
      }
    };
  }

  /** A PostgreSQL server of its own with one database for the test class; each test empties it. */
  static Postgres postgres(String testClass) throws Exception {
    PostgresServer server = PostgresServer.create();
    try {
      return new Postgres(server, server.createDatabase(testClass));
    } catch (SQLException | RuntimeException e) {
      server.close();
      throw e;
    }
  }

  /** The PostgreSQL engine, its server and database at hand for fault tests. */
  record Postgres(PostgresServer server, PostgresServer.Database database) implements StoreEngine {

    PostgresTarget target() {
      return PostgresTarget.parse(database.url(), database.password());
    }

    @Override
    public Store openEmpty() throws SQLException {
      Store store = reopen();
      try (Connection connection = DriverManager.getConnection(database.jdbcUrl(), database.user(), database.password());
          Statement statement = connection.createStatement()) {
        statement.execute("TRUNCATE vms, vm_labels, events, request_ids, nodes");
        statement.execute("UPDATE event_counter SET last_seq = 0");
      }
      return store;
    }

    @Override
    public Store reopen() {
      return PostgresStore.open(target());
    }

    @Override
    public void close() {
      server.close();
    }
  }
}
