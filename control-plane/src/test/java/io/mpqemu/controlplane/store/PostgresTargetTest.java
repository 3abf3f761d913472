package io.mpqemu.controlplane.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Map;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PostgresTargetTest {

  @TempDir
  Path dir;

  @Test
  @DisplayName("a URL names host, port, database, user and sslmode, and shows them, never the password")
  void parses() {
    PostgresTarget target = PostgresTarget.parse("postgresql://db.example:6543/mpqemu?user=cp&sslmode=require", "s3cret");

    assertThat(target.jdbcUrl()).isEqualTo("jdbc:postgresql://db.example:6543/mpqemu");
    assertThat(target.toString()).isEqualTo("postgresql://db.example:6543/mpqemu?user=cp&sslmode=require")
        .doesNotContain("s3cret");
    assertThat(target.describe()).isEqualTo("PostgreSQL at db.example:6543/mpqemu");
    assertThat(target.properties()).containsEntry("user", "cp").containsEntry("password", "s3cret")
        .containsEntry("sslmode", "require").containsKeys("connectTimeout", "socketTimeout");
    assertThat(PostgresTarget.parse("postgresql://10.0.0.5/cp?user=cp", null).toString())
        .isEqualTo("postgresql://10.0.0.5:5432/cp?user=cp&sslmode=prefer");
  }

  @Test
  @DisplayName("verify-full takes the CA file that signed the server's certificate and hands it to the driver")
  void verifiedTls() throws Exception {
    Path ca = Files.writeString(dir.resolve("ca.pem"), "-----BEGIN CERTIFICATE-----\n");

    PostgresTarget target = PostgresTarget.parse("postgresql://db:5432/cp?user=cp&sslmode=verify-full&sslrootcert=" + ca,
        "pw");

    assertThat(target.properties()).containsEntry("sslmode", "verify-full").containsEntry("sslrootcert", ca.toString());
  }

  @Test
  @DisplayName("bad URLs are refused, each with a message saying what is wrong")
  void refusals() {
    Map<String, String> bad = Map.ofEntries(
        Map.entry("mysql://db/cp?user=cp", "--store must start with postgresql://, not 'mysql:'"),
        Map.entry("postgresql://cp:hunter2@db/cp", "--store carries a password: leave it out of the URL and put it in"
            + " --store-password-file FILE or the environment (MPQEMU_STORE_PASSWORD or PGPASSWORD)"),
        Map.entry("postgresql://db/cp?user=cp&password=hunter2", "--store carries a password"),
        Map.entry("postgresql:///cp?user=cp", "--store needs a host name or address"),
        Map.entry("postgresql://db:70000/cp?user=cp", "--store has port 70000, outside 1-65535"),
        Map.entry("postgresql://db:5432/?user=cp", "--store needs a database name after the port"),
        Map.entry("postgresql://db:5432/cp;drop?user=cp", "--store needs a database name after the port"),
        Map.entry("postgresql://db:5432/cp", "--store needs a user (letters, digits, _ $ -): add ?user=NAME"),
        Map.entry("postgresql://db/cp?user=cp&sslmode=sometimes", "--store has sslmode=sometimes; it is one of disable,"),
        Map.entry("postgresql://db/cp?user=cp&ssl=true", "--store has an unknown parameter 'ssl'; known: user, sslmode,"
            + " sslrootcert"),
        Map.entry("postgresql://db/cp?user=cp&user=root", "--store gives 'user' twice"),
        Map.entry("postgresql://db/cp?user=cp&sslmode=verify-full", "--store has sslmode=verify-full without sslrootcert="),
        Map.entry("postgresql://db/cp?user=cp&sslmode=require&sslrootcert=/etc/ssl/ca.pem",
            "--store has sslrootcert but sslmode=require, which does not check the server: use verify-full"),
        Map.entry("postgresql://db/cp?user=cp&sslmode=verify-ca&sslrootcert=/nonexistent/ca.pem",
            "--store has sslrootcert=/nonexistent/ca.pem, which is not a readable file given by its absolute path"));
    bad.forEach((url, message) -> assertThatThrownBy(() -> PostgresTarget.parse(url, "pw")).as(url)
        .isInstanceOf(IllegalArgumentException.class).hasMessageStartingWith(message).hasMessageNotContaining("hunter2"));
  }

  @Test
  @DisplayName("the password comes from the file when given, else MPQEMU_STORE_PASSWORD, else PGPASSWORD")
  void passwordSources() throws Exception {
    Path file = Files.writeString(dir.resolve("pw"), "from-file\nignored\n");
    Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-------"));
    Map<String, String> both = Map.of("MPQEMU_STORE_PASSWORD", "from-mpqemu", "PGPASSWORD", "from-libpq");

    assertThat(PostgresTarget.password(file, both)).isEqualTo("from-file");
    assertThat(PostgresTarget.password(null, both)).isEqualTo("from-mpqemu");
    assertThat(PostgresTarget.password(null, Map.of("PGPASSWORD", "from-libpq"))).isEqualTo("from-libpq");
    assertThat(PostgresTarget.password(null, Map.of())).isNull();
    Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-r--r--"));
    assertThatThrownBy(() -> PostgresTarget.password(file, Map.of())).hasMessageContaining("readable by every user");
    assertThatThrownBy(() -> PostgresTarget.password(dir.resolve("missing"), Map.of()))
        .hasMessageStartingWith("--store-password-file " + dir.resolve("missing") + " cannot be read");
  }
}
