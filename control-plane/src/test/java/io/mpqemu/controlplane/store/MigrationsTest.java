package io.mpqemu.controlplane.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.InputStream;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

class MigrationsTest {

  /**
   * Released steps, as shipped: a database that ran one never runs it again, so an edit would never reach
   * it. Add a step (V<n+1>__...sql, listed in Migrations.Engine) instead, and its checksum here once released.
   */
  private static final Map<String, String> RELEASED = Map.of(
      "db/sqlite/V1__tables.sql", "748fd13e7e2a87216e90cc9ea548c3588cb9fbbd9fc04bf1d63d5dbb507be0c6",
      "db/sqlite/V2__listing_indexes.sql", "6aa83af7177e941a48264f4119781a96a057a1e1f7721cf99d69d216047ad3c6",
      "db/sqlite/V3__vm_owner.sql", "7b28dc469fa80b326d81eb075f7046ff7c4e7a604b71a95c7f9adc135120df4c",
      "db/sqlite/V4__agent_event_ids.sql", "0d6b8dacbeb80ef3c3c66af4ef04fe28f07cee3aa7d000dda7aac59e301771d5",
      "db/postgresql/V1__schema.sql", "71bcaa7bbcb8af9072604071b79394de74ccecca942e1d8a1410583c844fcdb1",
      "db/postgresql/V2__leader_lease.sql", "1b995c7ee2240c2c75038dfe64949b8614c48339f6815feed74c69207f86264f",
      "db/postgresql/V3__agent_event_ids.sql", "2e1f85e75f68871804572bbbf1b69a3e8f536d1442ad9f0e9ba6826fdbeca302",
      "db/postgresql/V4__control_planes.sql", "7c16ddc92a8b7e342fe2e99db0704128e1d574dd9f5d7674d4480ab51b2da609");

  @Test
  @DisplayName("no released schema step has been edited")
  void releasedStepsUnchanged() throws Exception {
    for (Map.Entry<String, String> step : RELEASED.entrySet()) {
      try (InputStream in = getClass().getClassLoader().getResourceAsStream(step.getKey())) {
        assertThat(in).as(step.getKey()).isNotNull();
        String sha256 = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(in.readAllBytes()));
        assertThat(sha256).as("%s was released and must not change: add a new step instead", step.getKey())
            .isEqualTo(step.getValue());
      }
    }
  }

  @Test
  @DisplayName("every step file of each engine is run, in version order, and no file is left out")
  void everyFileIsAStep() throws Exception {
    for (Migrations.Engine engine : Migrations.Engine.values()) {
      String dir = engine.resources().get(0).substring(0, engine.resources().get(0).lastIndexOf('/'));
      try (Stream<Path> files = Files.list(Path.of(resource(dir)))) {
        assertThat(files.map(f -> dir + "/" + f.getFileName()).sorted().toList())
            .containsExactlyElementsOf(engine.resources());
      }
      assertThat(Migrations.steps(engine)).extracting(Migrations.Step::version)
          .containsExactlyElementsOf(java.util.stream.IntStream.rangeClosed(1, Migrations.latest(engine)).boxed().toList());
    }
  }

  @Test
  @DisplayName("a step file reads as its description line and statements split at ';' line ends, comments dropped")
  void parsesSteps() {
    Migrations.Step step = Migrations.parse(4, "-- what it does; for whom\nCREATE TABLE t (\n  a TEXT -- a column\n);\n"
        + "-- a comment; with a semicolon\n\nCREATE INDEX i ON t(a);\n");

    assertThat(step.description()).isEqualTo("what it does; for whom");
    assertThat(step.statements()).containsExactly("CREATE TABLE t (\n  a TEXT -- a column\n)", "CREATE INDEX i ON t(a)");
    assertThatThrownBy(() -> Migrations.parse(5, "CREATE TABLE t (a TEXT);"))
        .hasMessageContaining("must start with a '-- description' line");
    assertThatThrownBy(() -> Migrations.parse(6, "-- half\nCREATE TABLE t (a TEXT)"))
        .hasMessageContaining("ends without ';'");
  }

  private static java.net.URI resource(String dir) throws URISyntaxException {
    return MigrationsTest.class.getClassLoader().getResource(dir).toURI();
  }
}
