package io.mpqemu.controlplane.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.mpqemu.testing.ClusterCerts;
import io.mpqemu.testing.PostgresServer;
import io.mpqemu.v1.EventType;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/**
 * TLS to a real PostgreSQL that accepts TCP connections only under TLS: with {@code sslmode=verify-full}
 * the store checks the server's certificate against the CA it is given and the host it dials, and works;
 * without TLS, with another CA, or for a host the certificate does not name, start-up ends with one line.
 */
class PostgresTlsTest {

  private static Path dir;
  private static PostgresServer server;
  private static PostgresServer.Database database;
  private static ClusterCerts certs;

  @BeforeAll
  static void start() throws Exception {
    dir = Files.createTempDirectory("mpqemu-pg-tls-");
    certs = ClusterCerts.ca(dir.resolve("ca")).make("node-agent", "pgserver", "--ip", "127.0.0.1");
    server = PostgresServer.create();
    database = server.createDatabase("tls");
    server.enableTls(certs.crt("pgserver"), certs.key("pgserver"), true);
  }

  @AfterAll
  static void stop() throws Exception {
    if (server != null) {
      server.close();
    }
    ClusterCerts.run(java.util.List.of("rm", "-rf", dir.toString()));
  }

  @Test
  @DisplayName("sslmode=verify-full with the CA that signed the server's certificate connects under TLS, and the store works")
  void verifiedTls() throws Exception {
    PostgresTarget target = PostgresTarget.parse(database.url().replace("sslmode=disable", "sslmode=verify-full")
        + "&sslrootcert=" + certs.ca(), database.password());

    try (PostgresStore store = PostgresStore.open(target)) {
      assertThat(store.commit(Change.builder().event(StoreFixtures.event("vm-1", EventType.ACCEPTED)).build()))
          .singleElement().satisfies(e -> assertThat(e.getSeq()).isEqualTo(1));
      assertThat(store.sessionValue("SHOW", "ssl")).isEqualTo("on");
    }
    try (Connection admin = server.superuser(database.name()); Statement statement = admin.createStatement();
        ResultSet rows = statement.executeQuery("SELECT count(*) FROM pg_stat_ssl s JOIN pg_stat_activity a"
            + " ON a.pid = s.pid WHERE a.usename = '" + database.user() + "' AND NOT s.ssl")) {
      rows.next();
      assertThat(rows.getInt(1)).as("no plaintext session of the store's user").isZero();
    }
  }

  @Test
  @DisplayName("without TLS the server refuses the store: one line naming the database")
  void plaintextRefused() {
    PostgresTarget target = PostgresTarget.parse(database.url(), database.password()); // sslmode=disable
    assertThatThrownBy(() -> PostgresStore.open(target)).isInstanceOfSatisfying(StoreException.class, e -> {
      assertThat(e.kind()).isEqualTo(StoreException.Kind.UNAVAILABLE);
      assertThat(e.getMessage()).startsWith("PostgreSQL at 127.0.0.1:" + database.port() + "/" + database.name()
          + " is unavailable: ").contains("no encryption").doesNotContain("\n");
    });
  }

  @Test
  @DisplayName("verify-full with a CA that did not sign the server's certificate is refused, saying the certificate is not trusted")
  void otherCaRefused() throws Exception {
    ClusterCerts other = ClusterCerts.ca(dir.resolve("other-ca"));
    PostgresTarget target = PostgresTarget.parse(database.url().replace("sslmode=disable", "sslmode=verify-full")
        + "&sslrootcert=" + other.ca(), database.password());
    assertThatThrownBy(() -> PostgresStore.open(target)).isInstanceOfSatisfying(StoreException.class, e -> {
      assertThat(e.kind()).isEqualTo(StoreException.Kind.UNAVAILABLE);
      assertThat(e.getMessage()).doesNotContain("\n").contains("the TLS handshake failed (")
          .contains("check that sslrootcert names the CA that signed the server's certificate");
    });
  }

  @Test
  @DisplayName("verify-full to a host name the server's certificate does not carry is refused")
  void wrongHostRefused() {
    PostgresTarget target = PostgresTarget.parse(database.url().replace("127.0.0.1", "localhost")
        .replace("sslmode=disable", "sslmode=verify-full") + "&sslrootcert=" + certs.ca(), database.password());
    assertThatThrownBy(() -> PostgresStore.open(target)).isInstanceOfSatisfying(StoreException.class, e -> {
      assertThat(e.kind()).isEqualTo(StoreException.Kind.UNAVAILABLE);
      assertThat(e.getMessage()).doesNotContain("\n").startsWith("PostgreSQL at localhost:")
          .contains("the TLS handshake failed (").contains("the certificate names the host given in --store");
    });
  }
}
