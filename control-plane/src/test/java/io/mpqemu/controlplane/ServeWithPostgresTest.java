package io.mpqemu.controlplane;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.tuple;

import io.mpqemu.controlplane.leadership.Election;
import io.mpqemu.controlplane.leadership.LeaseSettings;
import io.mpqemu.controlplane.store.PostgresStore;
import io.mpqemu.controlplane.store.PostgresTarget;
import io.mpqemu.testing.Await;
import io.mpqemu.testing.PostgresServer;
import io.mpqemu.v1.EventType;
import io.mpqemu.v1.VmEvent;
import io.vertx.core.Vertx;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code control-plane serve --store postgresql://...} against a real PostgreSQL. */
class ServeWithPostgresTest {

  private static PostgresServer server;
  private static PostgresServer.Database database;

  @TempDir
  Path dir;

  @BeforeAll
  static void start() throws Exception {
    server = PostgresServer.create();
    database = server.createDatabase("serve");
  }

  @AfterAll
  static void stop() {
    server.close();
  }

  @Test
  @DisplayName("the control plane runs on PostgreSQL: it takes the leader's lease, records LEADER_ELECTED in its event"
      + " log there, and, started again on the same database, leads in the next epoch with the log continuing")
  void runsOnPostgres() {
    ControlPlaneConfig config = ControlPlaneConfig.defaults(dir.resolve("data"))
        .withStore(PostgresTarget.parse(database.url(), database.password()));
    config = new ControlPlaneConfig(config.dataDir(), List.of("unix:" + dir.resolve("cp.sock")), config.notReadyAfter(),
        config.lostAfter(), config.reconcileInterval(), config.callDeadline(), config.restartBackoffMax(),
        config.limits(), "", config.access(), config.quota(), config.store(), config.retention(),
        new Election("cp-one", LeaseSettings.DEFAULT));
    for (int run = 1; run <= 2; run++) {
      Vertx vertx = Vertx.vertx();
      try {
        ControlPlaneVerticle cp = new ControlPlaneVerticle(config);
        Await.result(vertx.deployVerticle(cp));
        Await.atMost(Duration.ofSeconds(20)).until(() -> cp.leadership().leads(), "cp-one to lead");
        assertThat(cp.leadership().epoch()).isEqualTo(run);
        assertThat(cp.leadership().describe()).isEqualTo("leads in epoch " + run);
        assertThat(cp.eventLog().lastSeq()).isEqualTo(run == 1 ? 1 : 3);
      } finally {
        Await.result(vertx.close()); // a clean stop releases the lease: the next run need not wait for it
      }
    }
    try (PostgresStore store = PostgresStore.open(PostgresTarget.parse(database.url(), database.password()))) {
      assertThat(store.events(0, "", 10)).extracting(VmEvent::getType, VmEvent::getLeaderEpoch).containsExactly(
          tuple(EventType.LEADER_ELECTED, 1L), tuple(EventType.LEADER_LOST, 1L), tuple(EventType.LEADER_ELECTED, 2L));
    }
    assertThat(dir.resolve("data/control-plane.db")).as("no SQLite file beside it").doesNotExist();
  }

  @Test
  @DisplayName("serve with a wrong password exits 1 after ONE line naming the database and where the password comes from")
  void wrongPassword() throws Exception {
    Path password = Files.writeString(dir.resolve("pw"), "wrong-pw-7f3a\n");
    Files.setPosixFilePermissions(password, PosixFilePermissions.fromString("rw-------"));

    Served served = serve("--store", database.url(), "--store-password-file", password.toString());

    assertThat(served.exit).isEqualTo(1);
    assertThat(served.stderr).doesNotContain("wrong-pw-7f3a").doesNotContain("\tat ");
    assertThat(served.lines()).containsExactly("control-plane: cannot start: PostgreSQL at 127.0.0.1:"
        + database.port() + "/" + database.name() + " is unavailable: it refused the password of user "
        + database.user() + " (SQLState 28P01): fix --store-password-file FILE, MPQEMU_STORE_PASSWORD or PGPASSWORD");
  }

  @Test
  @DisplayName("serve against a port where nothing listens exits 1 after one line naming the database")
  void unreachable() throws Exception {
    int closedPort;
    try (java.net.ServerSocket socket = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      closedPort = socket.getLocalPort();
    }
    String url = database.url().replace(":" + database.port() + "/", ":" + closedPort + "/");
    Path password = Files.writeString(dir.resolve("pw"), database.password() + "\n");
    Files.setPosixFilePermissions(password, PosixFilePermissions.fromString("rw-------"));

    Served served = serve("--store", url, "--store-password-file", password.toString());

    assertThat(served.exit).isEqualTo(1);
    assertThat(served.stderr).doesNotContain(database.password()).doesNotContain("\tat ");
    assertThat(served.lines()).singleElement().asString().startsWith("control-plane: cannot start: PostgreSQL at"
        + " 127.0.0.1:" + closedPort + "/" + database.name() + " is unavailable: nothing answers there (");
  }

  @Test
  @DisplayName("serve on a database whose schema is newer than this build exits 1 after one line giving both versions")
  void futureSchema() throws Exception {
    PostgresServer.Database future = server.createDatabase("future");
    PostgresStore.open(PostgresTarget.parse(future.url(), future.password())).close();
    int newer = 9999;
    try (java.sql.Connection owner = server.superuser(future.name());
        java.sql.PreparedStatement insert = owner.prepareStatement("INSERT INTO schema_version(version, description,"
            + " applied_at) VALUES (?, 'from the future', '2030-01-01')")) {
      insert.setInt(1, newer);
      insert.executeUpdate();
    }
    Path password = Files.writeString(dir.resolve("pw"), future.password() + "\n");
    Files.setPosixFilePermissions(password, PosixFilePermissions.fromString("rw-------"));

    Served served = serve("--store", future.url(), "--store-password-file", password.toString());

    assertThat(served.exit).isEqualTo(1);
    assertThat(served.stderr).doesNotContain("\tat ");
    assertThat(served.lines()).singleElement().asString().startsWith("control-plane: cannot start: PostgreSQL at"
        + " 127.0.0.1:" + future.port() + "/" + future.name() + " was written by a newer mpqemu: schema version " + newer
        + ", this build knows up to ").endsWith(". Run a newer mpqemu, or point this one at another database.");
  }

  @Test
  @DisplayName("serve with a password in the --store URL exits 2 after one line saying where the password goes")
  void passwordInUrl() {
    Served served = serve("--store", "postgresql://cp:hunter2@127.0.0.1:" + database.port() + "/" + database.name());

    assertThat(served.exit).isEqualTo(2);
    assertThat(served.lines()).singleElement().asString()
        .startsWith("control-plane: --store carries a password").doesNotContain("hunter2");
  }

  /** What serve returned and printed on stderr (where the log goes too). */
  private record Served(int exit, String stderr) {
    /** Its own lines, without the log's (those start with a timestamp). */
    List<String> lines() {
      return stderr.lines().filter(line -> !line.matches("^\\d{4}-\\d{2}-\\d{2}T.*")).toList();
    }
  }

  private Served serve(String... storeArgs) {
    List<String> args = new java.util.ArrayList<>(List.of("serve", "--data-dir", dir.resolve("data").toString(),
        "--listen", "unix:" + dir.resolve("cp.sock")));
    args.addAll(List.of(storeArgs));
    PrintStream err = System.err;
    ByteArrayOutputStream captured = new ByteArrayOutputStream();
    System.setErr(new PrintStream(captured, true, StandardCharsets.UTF_8));
    try {
      int exit = ServeCommand.commandLine(null).execute(args.toArray(String[]::new));
      return new Served(exit, captured.toString(StandardCharsets.UTF_8));
    } finally {
      System.setErr(err);
    }
  }
}
