package io.mpqemu.controlplane.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.DateTimeException;
import java.time.Instant;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class StoredInstantsTest {

  @Test
  void readsBackEveryTimeTheStoreWrites() {
    Random random = new Random(20261130);
    long from = Instant.parse("1970-01-01T00:00:00Z").getEpochSecond();
    long to = Instant.parse("2400-12-31T23:59:59Z").getEpochSecond();
    for (int i = 0; i < 200_000; i++) {
      long second = from + (long) (random.nextDouble() * (to - from));
      int nanos = switch (i % 4) {
        case 0 -> 0; // "...:13Z"
        case 1 -> random.nextInt(1000) * 1_000_000; // milliseconds
        case 2 -> random.nextInt(1_000_000) * 1000; // microseconds
        default -> random.nextInt(1_000_000_000);
      };
      Instant written = Instant.ofEpochSecond(second, nanos);
      assertThat(StoredInstants.parse(written.toString())).isEqualTo(written);
    }
    for (String edge : new String[] {"1970-01-01T00:00:00Z", "2024-02-29T23:59:59.999999999Z",
        "2000-12-31T12:00:00.100Z", "9999-12-31T23:59:59.000001Z"}) {
      assertThat(StoredInstants.parse(edge)).isEqualTo(Instant.parse(edge));
    }
  }

  /** Anything but what the store writes is read, or refused, exactly as Instant.parse does. */
  @ParameterizedTest
  @ValueSource(strings = {"+10000-01-01T00:00:00Z", "1969-12-31T23:59:59.5Z", "2026-11-30T23:59:60Z",
      "2026-11-30T24:00:00Z", "2026-11-30T23:55:13.Z", "2025-02-29T00:00:00Z", "2026-13-01T00:00:00Z",
      "2026-11-30T23:5x:00Z", "2026-11-30T23:55:13.1234567890Z", "2026-11-30 23:55:13Z", "yesterday"})
  void otherFormsAreReadAsInstantParseReadsThem(String text) {
    Instant expected;
    try {
      expected = Instant.parse(text);
    } catch (DateTimeException refused) {
      assertThatThrownBy(() -> StoredInstants.parse(text)).isInstanceOf(DateTimeException.class);
      return;
    }
    assertThat(StoredInstants.parse(text)).isEqualTo(expected);
  }
}
