package io.mpqemu.spec;

import java.util.Objects;
import java.util.Set;

/** What one node allows a single VM to ask for: the device driver allow-list and size limits. */
public record NodeLimits(
    Set<String> allowedDrivers,
    int maxMemoryMibPerVm,
    int maxVcpusPerVm,
    int maxDevicesPerVm,
    int maxDisksPerDevice) {

  public NodeLimits {
    allowedDrivers = Set.copyOf(Objects.requireNonNull(allowedDrivers, "allowedDrivers"));
    requirePositive("maxMemoryMibPerVm", maxMemoryMibPerVm);
    requirePositive("maxVcpusPerVm", maxVcpusPerVm);
    requirePositive("maxDevicesPerVm", maxDevicesPerVm);
    requirePositive("maxDisksPerDevice", maxDisksPerDevice);
  }

  /** Every driver the validator knows, 64 GiB, 64 vCPUs, 8 devices and 8 disks per device. */
  public static NodeLimits defaults() {
    return new NodeLimits(SpecValidator.KNOWN_DRIVERS, 65536, 64, 8, 8);
  }

  private static void requirePositive(String name, int value) {
    if (value < 1) {
      throw new IllegalArgumentException(name + " must be at least 1, not " + value);
    }
  }
}
