package io.mpqemu.agent.net;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Reading a tap's sysfs statistics; against the real kernel in BridgeGuestTest. */
class TapCountersTest {

  @TempDir
  Path classNet;

  @Test
  @DisplayName("the tap's tx is what the guest received, its rx what the guest sent")
  void guestsPointOfView() throws Exception {
    Path statistics = Files.createDirectories(classNet.resolve("mpq0123456789ab/statistics"));
    Map.of("tx_bytes", "1500\n", "tx_packets", "3\n", "rx_bytes", "640\n", "rx_packets", "5\n")
        .forEach((name, value) -> write(statistics.resolve(name), value));

    TapCounters.Counters c = new TapCounters(classNet).read("mpq0123456789ab").orElseThrow();

    assertThat(c).isEqualTo(new TapCounters.Counters(1500, 3, 640, 5));
  }

  @Test
  @DisplayName("a tap that is gone has no counters")
  void gone() throws Exception {
    assertThat(new TapCounters(classNet).read("mpqnothere")).isEmpty();
  }

  private static void write(Path file, String text) {
    try {
      Files.writeString(file, text);
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }
}
