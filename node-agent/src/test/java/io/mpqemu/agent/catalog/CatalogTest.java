package io.mpqemu.agent.catalog;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CatalogTest {

  @TempDir
  Path dir;

  private Catalog catalog;

  @BeforeEach
  void open() throws Exception {
    catalog = new Catalog(dir.resolve("catalog"), 1L << 30, Clock.fixed(Instant.parse("2026-12-01T06:00:00Z"), ZoneOffset.UTC));
  }

  private static String sha256(byte[] data) throws Exception {
    return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(data));
  }

  private static byte[] bytes(int n) {
    byte[] b = new byte[n];
    for (int i = 0; i < n; i++) {
      b[i] = (byte) (i * 31);
    }
    return b;
  }

  /** A qcow2 version 3 header of a 1 GiB disk, optionally naming a backing file. */
  private static byte[] qcow2(boolean backing) {
    ByteBuffer b = ByteBuffer.allocate(512);
    b.putInt(0, 0x514649fb).putInt(4, 3).putLong(8, backing ? 104 : 0).putInt(16, backing ? 8 : 0)
        .putLong(24, 1L << 30);
    return b.array();
  }

  private CatalogEntry importOf(String name, String format, byte[] data, int chunk) throws Exception {
    try (Catalog.Incoming in = catalog.begin(new Upload(name, format, sha256(data), data.length))) {
      for (int i = 0; i < data.length; i += chunk) {
        in.write(Arrays.copyOfRange(data, i, Math.min(data.length, i + chunk)));
      }
      return in.commit();
    }
  }

  private long leftovers() throws Exception {
    try (Stream<Path> s = Files.list(dir.resolve("catalog/.incoming"))) {
      return s.count();
    }
  }

  @Test
  @DisplayName("an import in chunks becomes visible with its checksum and sizes; it can be listed and deleted")
  void importsListsDeletes() throws Exception {
    byte[] data = bytes(100_000);
    CatalogEntry e = importOf("debian-12", "raw", data, 4096);

    assertThat(e.sha256()).isEqualTo(sha256(data));
    assertThat(e.virtualSizeBytes()).isEqualTo(100_000);
    assertThat(Files.readAllBytes(catalog.imageOf("debian-12"))).isEqualTo(data);
    assertThat(catalog.list()).extracting(CatalogEntry::name).containsExactly("debian-12");
    assertThat(importOf("small.qcow2", "qcow2", qcow2(false), 100).virtualSizeBytes()).isEqualTo(1L << 30);

    catalog.delete("debian-12");
    assertThat(catalog.list()).extracting(CatalogEntry::name).containsExactly("small.qcow2");
    assertThat(leftovers()).isZero();
  }

  @Test
  @DisplayName("a wrong checksum, a short or long upload, a qcow2 naming another file: refused, nothing left")
  void badUploads() throws Exception {
    byte[] data = bytes(10_000);
    try (Catalog.Incoming in = catalog.begin(new Upload("a", "raw", sha256(bytes(9)), data.length))) {
      in.write(data);
      assertThatThrownBy(in::commit).hasMessageContaining("the bytes received have sha256 " + sha256(data));
    }
    try (Catalog.Incoming in = catalog.begin(new Upload("a", "raw", sha256(data), data.length))) {
      in.write(Arrays.copyOf(data, 5000));
      assertThatThrownBy(in::commit).hasMessageContaining("ended after 5000 of the 10000 bytes");
    }
    try (Catalog.Incoming in = catalog.begin(new Upload("a", "raw", sha256(data), 100))) {
      assertThatThrownBy(() -> in.write(data)).hasMessageContaining("more bytes came than the 100 declared");
    }
    assertThatThrownBy(() -> importOf("b", "qcow2", qcow2(true), 512)).hasMessageContaining("backing file");
    assertThatThrownBy(() -> importOf("c", "qcow2", data, 512)).hasMessageContaining("is not a qcow2 image");
    assertThat(catalog.list()).isEmpty();
    assertThat(leftovers()).isZero();
  }

  @Test
  @DisplayName("bad declarations are refused before any byte: name, format, checksum, size, a name in use, no room")
  void badDeclarations() throws Exception {
    importOf("taken", "raw", bytes(10), 10);
    String sum = sha256(bytes(10));
    assertThatThrownBy(() -> catalog.begin(new Upload("../etc", "raw", sum, 10))).hasMessageContaining("not a catalog name");
    assertThatThrownBy(() -> catalog.begin(new Upload("x", "vmdk", sum, 10))).hasMessageContaining("raw or qcow2");
    assertThatThrownBy(() -> catalog.begin(new Upload("x", "raw", "ABC", 10))).hasMessageContaining("64 lowercase hex");
    assertThatThrownBy(() -> catalog.begin(new Upload("x", "raw", sum, 0))).hasMessageContaining("size_bytes must be");
    assertThatThrownBy(() -> catalog.begin(new Upload("taken", "raw", sum, 10)))
        .isInstanceOfSatisfying(CatalogException.class, e -> assertThat(e.kind()).isEqualTo(CatalogException.Kind.EXISTS));
    Catalog big = new Catalog(dir.resolve("catalog"), Long.MAX_VALUE, Clock.systemUTC());
    assertThatThrownBy(() -> big.begin(new Upload("huge", "raw", sum, Long.MAX_VALUE / 2)))
        .isInstanceOfSatisfying(CatalogException.class, e -> assertThat(e.kind()).isEqualTo(CatalogException.Kind.NO_SPACE));
    assertThatThrownBy(() -> catalog.delete("nobody"))
        .isInstanceOfSatisfying(CatalogException.class, e -> assertThat(e.kind()).isEqualTo(CatalogException.Kind.NOT_FOUND));
  }
}
