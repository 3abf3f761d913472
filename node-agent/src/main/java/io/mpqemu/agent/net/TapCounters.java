package io.mpqemu.agent.net;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Optional;

/**
 * What a tap has carried, read from its sysfs statistics ({@code /sys/class/net/TAP/statistics}) and turned
 * to the guest's point of view, as {@code virsh domifstat} does: what the host sent into the tap is what the
 * guest received. Blocking; call off the event loop.
 */
public final class TapCounters {

  private final Path classNet;

  public TapCounters() {
    this(Path.of("/sys/class/net"));
  }

  TapCounters(Path classNet) {
    this.classNet = classNet;
  }

  /**
   * Bytes and packets each way, as the guest sees them.
   *
   * @param receivedBytes what reached the guest through the NIC (the tap's {@code tx_bytes})
   * @param transmittedBytes what the guest sent (the tap's {@code rx_bytes})
   */
  public record Counters(long receivedBytes, long receivedPackets, long transmittedBytes, long transmittedPackets) {}

  /** The tap's counters now; empty when there is no such interface (its VM is gone or not yet up). */
  public Optional<Counters> read(String tap) throws IOException {
    Path statistics = classNet.resolve(tap).resolve("statistics");
    try {
      return Optional.of(new Counters(value(statistics, "tx_bytes"), value(statistics, "tx_packets"),
          value(statistics, "rx_bytes"), value(statistics, "rx_packets")));
    } catch (NoSuchFileException e) {
      return Optional.empty();
    } catch (IOException e) {
      if (!Files.isDirectory(statistics)) { // removed while read (ENODEV)
        return Optional.empty();
      }
      throw e;
    }
  }

  private static long value(Path statistics, String name) throws IOException {
    return Long.parseLong(Files.readString(statistics.resolve(name)).trim());
  }
}
