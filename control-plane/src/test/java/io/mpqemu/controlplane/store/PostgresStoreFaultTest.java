package io.mpqemu.controlplane.store;

import static io.mpqemu.controlplane.store.StoreFixtures.event;
import static io.mpqemu.controlplane.store.StoreFixtures.oneEvent;
import static io.mpqemu.controlplane.store.StoreFixtures.vm;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.mpqemu.testing.Await;
import io.mpqemu.testing.PostgresServer;
import io.mpqemu.v1.EventType;
import io.mpqemu.v1.VmEvent;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.LongStream;
import org.assertj.core.api.ThrowableAssert.ThrowingCallable;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/** What an operator sees when PostgreSQL is misconfigured, unreachable, too new, or goes away while in use. */
class PostgresStoreFaultTest {

  private static StoreEngine.Postgres engine;

  @BeforeAll
  static void start() throws Exception {
    engine = StoreEngine.postgres("faults");
  }

  @AfterAll
  static void stop() {
    engine.close();
  }

  private static String name() {
    return "PostgreSQL at 127.0.0.1:" + engine.database().port() + "/" + engine.database().name();
  }

  @Test
  @DisplayName("a wrong password ends start-up with one line naming the database, the user and where the password comes from")
  void wrongPassword() {
    PostgresTarget target = PostgresTarget.parse(engine.database().url(), "not-the-password");

    assertOneLine(() -> PostgresStore.open(target), name() + " is unavailable: it refused the password of user "
        + engine.database().user() + " (SQLState 28P01): fix --store-password-file FILE, MPQEMU_STORE_PASSWORD or PGPASSWORD");
  }

  @Test
  @DisplayName("no password at all for a server that asks for one is one line saying where to put it")
  void noPassword() {
    assertOneLine(() -> PostgresStore.open(PostgresTarget.parse(engine.database().url(), null)),
        name() + " is unavailable: it asks for a password and none was given: use --store-password-file FILE");
  }

  @Test
  @DisplayName("a port where nothing listens is one line naming the database and saying to check host, port and server")
  void unreachable() throws Exception {
    int closedPort;
    try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      closedPort = socket.getLocalPort();
    }
    String url = "postgresql://127.0.0.1:" + closedPort + "/" + engine.database().name() + "?user=mpqemu";

    assertOneLine(() -> PostgresStore.open(PostgresTarget.parse(url, "secret")), "PostgreSQL at 127.0.0.1:"
        + closedPort + "/" + engine.database().name() + " is unavailable: nothing answers there (");
  }

  @Test
  @DisplayName("a missing database is one line saying how to create it")
  void missingDatabase() {
    String url = engine.database().url().replace("/" + engine.database().name() + "?", "/nodb?");

    assertOneLine(() -> PostgresStore.open(PostgresTarget.parse(url, engine.database().password())),
        "PostgreSQL at 127.0.0.1:" + engine.database().port() + "/nodb is unavailable: it has no database nodb"
            + " (SQLState 3D000): create it (createdb -O " + engine.database().user() + " nodb)");
  }

  @Test
  @DisplayName("a database whose schema is newer than this build is refused with one line giving both versions")
  void futureSchema() throws Exception {
    engine.reopen().close();
    int newer = Migrations.latest(Migrations.Engine.POSTGRESQL) + 5;
    try (Connection raw = owner(); PreparedStatement insert = raw.prepareStatement(
        "INSERT INTO schema_version(version, description, applied_at) VALUES (?, 'from the future', '2030-01-01')")) {
      insert.setInt(1, newer);
      insert.executeUpdate();
    }
    try {
      assertOneLine(engine::reopen, name() + " was written by a newer mpqemu: schema version " + newer
          + ", this build knows up to " + Migrations.latest(Migrations.Engine.POSTGRESQL)
          + ". Run a newer mpqemu, or point this one at another database.");
    } finally {
      try (Connection raw = owner(); Statement statement = raw.createStatement()) {
        statement.execute("DELETE FROM schema_version WHERE version > 1");
      }
    }
  }

  @Test
  @DisplayName("a database that turns synchronous_commit off still gets durable commits: the store turns it on for its sessions")
  void synchronousCommit() throws Exception {
    try (Connection admin = engine.server().superuser("postgres"); Statement statement = admin.createStatement()) {
      statement.execute("ALTER DATABASE " + engine.database().name() + " SET synchronous_commit = off");
    }
    try (PostgresStore store = (PostgresStore) engine.reopen(); PostgresStore reader = (PostgresStore) store.reader();
        Connection raw = owner(); Statement statement = raw.createStatement()) {
      var rows = statement.executeQuery("SHOW synchronous_commit");
      rows.next();
      assertThat(rows.getString(1)).as("what other sessions get").isEqualTo("off");
      assertThat(store.setting("synchronous_commit")).isEqualTo("on");
      assertThat(reader.setting("synchronous_commit")).isEqualTo("on");
      assertThat(store.setting("fsync")).isEqualTo("on");
    } finally {
      try (Connection admin = engine.server().superuser("postgres"); Statement statement = admin.createStatement()) {
        statement.execute("ALTER DATABASE " + engine.database().name() + " RESET synchronous_commit");
      }
    }
  }

  @Test
  @DisplayName("a change PostgreSQL cannot store (a NUL byte in a label) fails alone; the rest of its group commits")
  void unstorableChangeFailsAlone() throws Exception {
    try (Store store = engine.openEmpty()) {
      StoredVm nul = vm("vm-nul", "nul", io.mpqemu.v1.Phase.PHASE_PENDING, "", java.util.Map.of("app", "a\u0000b"));

      List<Store.Result> results = store.commitAll(List.of(oneEvent("vm-1"),
          Change.builder().insert(nul).event(event("vm-nul", EventType.ACCEPTED)).build(), oneEvent("vm-2")));

      assertThat(results.get(1).failure()).isInstanceOfSatisfying(StoreException.class,
          e -> assertThat(e.getMessage()).startsWith(name() + " cannot store the change: "));
      assertThat(results.get(0).events()).extracting(VmEvent::getSeq).containsExactly(1L);
      assertThat(results.get(2).events()).extracting(VmEvent::getSeq).containsExactly(2L);
      assertThat(store.vm("vm-nul")).isEmpty();
    }
  }

  @Test
  @DisplayName("PostgreSQL stopped under a StoreExecutor: calls fail UNAVAILABLE naming it, then succeed again once it"
      + " is back, without reopening, and nothing acknowledged is lost")
  void databaseGoesAwayAndComesBack() throws Exception {
    Vertx vertx = Vertx.vertx();
    StoreExecutor executor = new StoreExecutor(vertx, engine.openEmpty());
    try {
      List<VmEvent> acknowledged = new ArrayList<>();
      acknowledged.addAll(Await.result(executor.commit(Change.builder().insert(vm("vm-1", "web"))
          .event(event("vm-1", EventType.ACCEPTED)).build())));
      for (int i = 0; i < 5; i++) {
        acknowledged.addAll(Await.result(executor.commit(oneEvent("vm-1"))));
      }
      assertThat(Await.result(executor.read(Store::lastSeq))).isEqualTo(6);

      engine.server().stop();
      assertUnavailable(executor.commit(oneEvent("vm-1")));
      assertUnavailable(executor.read(Store::lastSeq));
      assertUnavailable(executor.commit(oneEvent("vm-1")));
      engine.server().start();

      List<VmEvent> after = Await.atMost(Duration.ofSeconds(30)).poll(
          () -> Await.result(executor.commit(oneEvent("vm-1")).otherwiseEmpty()), events -> events != null);
      acknowledged.addAll(after);
      Await.atMost(Duration.ofSeconds(30)).poll(() -> Await.result(executor.read(Store::lastSeq).otherwiseEmpty()),
          seq -> seq != null);

      assertThat(acknowledged).extracting(VmEvent::getSeq)
          .containsExactlyElementsOf(LongStream.rangeClosed(1, 7).boxed().toList());
      List<VmEvent> log = Await.result(executor.read(st -> st.events(0, "", 100)));
      assertThat(log).isEqualTo(acknowledged);
      boolean vmThere = Await.result(executor.read(st -> st.vm("vm-1").isPresent()));
      assertThat(vmThere).isTrue();
    } finally {
      executor.close();
      Await.result(vertx.close());
    }
  }

  private static void assertUnavailable(Future<?> call) {
    assertThat(Await.failure(call)).isInstanceOfSatisfying(StoreException.class, e -> {
      assertThat(e.kind()).isEqualTo(StoreException.Kind.UNAVAILABLE);
      assertThat(e.getMessage()).startsWith(name() + " is unavailable: ").doesNotContain("\n");
    });
  }

  private static void assertOneLine(ThrowingCallable open, String start) {
    assertThatThrownBy(open).isInstanceOfSatisfying(StoreException.class, e -> {
      assertThat(e.kind()).isEqualTo(StoreException.Kind.UNAVAILABLE);
      assertThat(e.getMessage()).startsWith(start).doesNotContain("\n")
          .doesNotContain(engine.database().password());
    });
  }

  private static Connection owner() throws Exception {
    return DriverManager.getConnection(engine.database().jdbcUrl(), engine.database().user(),
        engine.database().password());
  }
}
