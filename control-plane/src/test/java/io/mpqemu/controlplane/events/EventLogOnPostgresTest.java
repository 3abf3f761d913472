package io.mpqemu.controlplane.events;

import io.mpqemu.controlplane.store.PostgresStore;
import io.mpqemu.controlplane.store.PostgresTarget;
import io.mpqemu.controlplane.store.Store;
import io.mpqemu.testing.PostgresServer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;

/** The same subscriptions and retention (by count and by age) over a real PostgreSQL, a database per test. */
@DisplayName("The event log's subscriptions and retention, over a real PostgreSQL")
class EventLogOnPostgresTest extends EventLogTest {

  private static PostgresServer server;

  @BeforeAll
  static void startPostgres() throws Exception {
    server = PostgresServer.create();
  }

  @AfterAll
  static void stopPostgres() {
    server.close();
  }

  @Override
  Store openStore() throws Exception {
    PostgresServer.Database database = server.createDatabase("events");
    return PostgresStore.open(PostgresTarget.parse(database.url(), database.password()));
  }
}
