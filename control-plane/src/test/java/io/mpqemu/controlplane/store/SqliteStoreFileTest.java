package io.mpqemu.controlplane.store;

import static io.mpqemu.controlplane.store.StoreFixtures.oneEvent;
import static io.mpqemu.controlplane.store.StoreFixtures.vm;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.mpqemu.v1.Phase;
import io.mpqemu.v1.VmEvent;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SqliteStoreFileTest {

  @TempDir
  Path dir;

  @Test
  @DisplayName("the store runs with write-ahead logging, synchronous=FULL and foreign keys on")
  void pragmas() throws SQLException {
    Path file = dir.resolve("store.db");
    try (SqliteStore store = SqliteStore.open(file)) {
      assertThat(store.pragma("journal_mode")).isEqualTo("wal");
      assertThat(store.pragma("synchronous")).isEqualTo("2");
      assertThat(store.pragma("foreign_keys")).isEqualTo("1");
      assertThat(Integer.parseInt(store.pragma("busy_timeout"))).isPositive();
    }
    try (Connection raw = DriverManager.getConnection("jdbc:sqlite:" + file);
        Statement statement = raw.createStatement();
        ResultSet rows = statement.executeQuery("PRAGMA journal_mode")) {
      rows.next();
      assertThat(rows.getString(1)).as("WAL is recorded in the file itself").isEqualTo("wal");
    }
  }

  @Test
  @DisplayName("a missing directory is created, and the database and its WAL are readable by the owner only")
  void ownerOnly() throws Exception {
    Path file = dir.resolve("data/nested/store.db");
    try (SqliteStore store = SqliteStore.open(file)) {
      store.commit(oneEvent("vm-1"));

      assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(file))).isEqualTo("rw-------");
      Path wal = dir.resolve("data/nested/store.db-wal");
      assertThat(wal).exists();
      assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(wal))).isEqualTo("rw-------");
      assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(file.getParent())))
          .isEqualTo("rwx------");
    }
  }

  @Test
  @DisplayName("an existing file readable by others is made 0600 when opened")
  void existingFileIsRestricted() throws Exception {
    Path file = dir.resolve("store.db");
    Files.createFile(file);
    Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-r--r--"));

    SqliteStore.open(file).close();

    assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(file))).isEqualTo("rw-------");
  }

  @Test
  @DisplayName("a new store records every schema step, once, in schema_version")
  void versionRows() throws SQLException {
    Path file = dir.resolve("store.db");
    SqliteStore.open(file).close();
    SqliteStore.open(file).close();

    assertThat(versions(file)).containsExactly(1, 2, 3, 4).hasSize(Migrations.latest(Migrations.Engine.SQLITE));
  }

  @Test
  @DisplayName("a database written by a newer mpqemu is refused with both schema versions in the message")
  void newerSchemaIsRefused() throws SQLException {
    Path file = dir.resolve("store.db");
    SqliteStore.open(file).close();
    try (Connection raw = DriverManager.getConnection("jdbc:sqlite:" + file);
        PreparedStatement insert = raw.prepareStatement(
            "INSERT INTO schema_version(version, description, applied_at) VALUES (?, 'from the future', ?)")) {
      insert.setInt(1, Migrations.latest(Migrations.Engine.SQLITE) + 5);
      insert.setString(2, "2030-01-01T00:00:00Z");
      insert.executeUpdate();
    }

    int newer = Migrations.latest(Migrations.Engine.SQLITE) + 5;
    assertThatThrownBy(() -> SqliteStore.open(file))
        .isInstanceOfSatisfying(StoreException.class,
            e -> assertThat(e.kind()).isEqualTo(StoreException.Kind.UNAVAILABLE))
        .hasMessageContaining("written by a newer mpqemu: schema version " + newer
            + ", this build knows up to " + Migrations.latest(Migrations.Engine.SQLITE));
  }

  @Test
  @DisplayName("a v1 database with data is upgraded to the latest schema when opened, and keeps its data;"
      + " its VMs belong to no one")
  void upgradesV1() throws SQLException {
    Path file = dir.resolve("store.db");
    SqliteStore.open(file, 1).close();
    StoredVm vm = vm("vm-1", "web", Phase.PHASE_RUNNING, "node-a", Map.of("app", "shop"));
    VmEvent event = StoreFixtures.event("vm-1", io.mpqemu.v1.EventType.ACCEPTED);
    // rows as a v1 build wrote them: the build of today writes columns v1 lacks
    try (Connection raw = DriverManager.getConnection("jdbc:sqlite:" + file);
        PreparedStatement row = raw.prepareStatement("INSERT INTO vms(id, name, spec, desired_state, revision, status,"
            + " phase, node, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
        PreparedStatement label = raw.prepareStatement("INSERT INTO vm_labels(vm_id, key, value) VALUES (?, ?, ?)");
        PreparedStatement log = raw.prepareStatement("INSERT INTO events(seq, vm_id, json) VALUES (1, ?, ?)")) {
      row.setString(1, vm.id());
      row.setString(2, vm.name());
      row.setString(3, ProtoJson.print(vm.spec()));
      row.setString(4, vm.desiredState().name());
      row.setLong(5, vm.revision());
      row.setString(6, ProtoJson.print(vm.status().toBuilder().setLastEventSeq(1).build()));
      row.setString(7, vm.status().getPhase().name());
      row.setString(8, vm.status().getNode());
      row.setString(9, vm.createdAt().toString());
      row.setString(10, vm.updatedAt().toString());
      row.executeUpdate();
      label.setString(1, vm.id());
      label.setString(2, "app");
      label.setString(3, "shop");
      label.executeUpdate();
      log.setString(1, vm.id());
      log.setString(2, ProtoJson.print(event.toBuilder().setSeq(1).build()));
      log.executeUpdate();
    }
    assertThat(versions(file)).containsExactly(1);
    assertThat(indexes(file)).isEmpty();

    try (SqliteStore store = SqliteStore.open(file)) {
      assertThat(versions(file)).containsExactly(1, 2, 3, 4);
      assertThat(indexes(file)).contains("vms_by_phase", "vms_by_node", "vm_labels_by_entry", "events_by_vm");
      StoredVm stored = vm.withStatus(vm.status().toBuilder().setLastEventSeq(1).build(), vm.updatedAt());
      assertThat(stored.owner()).isEmpty();
      assertThat(store.vm("vm-1")).contains(stored);
      assertThat(store.listVms(new VmFilter(Phase.PHASE_RUNNING, "node-a", Map.of("app", "shop")), "", 10))
          .containsExactly(stored);
      assertThat(store.lastSeq()).isEqualTo(1);
    }
  }

  @Test
  @DisplayName("a file that is not a SQLite database is refused with UNAVAILABLE naming the file")
  void notADatabase() throws Exception {
    Path file = dir.resolve("store.db");
    Files.writeString(file, "this is not a database, it is a text file that is long enough to look like one. ".repeat(20));

    assertThatThrownBy(() -> SqliteStore.open(file))
        .isInstanceOfSatisfying(StoreException.class,
            e -> assertThat(e.kind()).isEqualTo(StoreException.Kind.UNAVAILABLE))
        .hasMessageContaining(file.toString());
  }

  private static List<Integer> versions(Path file) throws SQLException {
    List<Integer> versions = new ArrayList<>();
    try (Connection raw = DriverManager.getConnection("jdbc:sqlite:" + file);
        Statement statement = raw.createStatement();
        ResultSet rows = statement.executeQuery("SELECT version FROM schema_version ORDER BY version")) {
      while (rows.next()) {
        versions.add(rows.getInt(1));
      }
    }
    return versions;
  }

  private static List<String> indexes(Path file) throws SQLException {
    List<String> names = new ArrayList<>();
    try (Connection raw = DriverManager.getConnection("jdbc:sqlite:" + file);
        Statement statement = raw.createStatement();
        ResultSet rows = statement.executeQuery(
            "SELECT name FROM sqlite_master WHERE type = 'index' AND name NOT LIKE 'sqlite_autoindex%'")) {
      while (rows.next()) {
        names.add(rows.getString(1));
      }
    }
    return names;
  }
}
