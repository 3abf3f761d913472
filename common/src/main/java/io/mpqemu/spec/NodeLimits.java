package io.mpqemu.spec;

import java.util.Objects;
import java.util.Set;

/**
 * What one node allows a single VM to ask for: the device driver allow-list and size limits. A NIC in a
 * device process counts against {@code maxDevicesPerVm} too (it is one more process).
 */
public record NodeLimits(
    Set<String> allowedDrivers,
    int maxMemoryMibPerVm,
    int maxVcpusPerVm,
    int maxDevicesPerVm,
    int maxDisksPerDevice,
    int maxNicsPerVm) {

  public static final int DEFAULT_MAX_NICS_PER_VM = 4;

  public NodeLimits {
    allowedDrivers = Set.copyOf(Objects.requireNonNull(allowedDrivers, "allowedDrivers"));
    requirePositive("maxMemoryMibPerVm", maxMemoryMibPerVm);
    requirePositive("maxVcpusPerVm", maxVcpusPerVm);
    requirePositive("maxDevicesPerVm", maxDevicesPerVm);
    requirePositive("maxDisksPerDevice", maxDisksPerDevice);
    requirePositive("maxNicsPerVm", maxNicsPerVm);
  }

  /** The limits with the default of {@value #DEFAULT_MAX_NICS_PER_VM} NICs per VM. */
  public NodeLimits(Set<String> allowedDrivers, int maxMemoryMibPerVm, int maxVcpusPerVm, int maxDevicesPerVm,
      int maxDisksPerDevice) {
    this(allowedDrivers, maxMemoryMibPerVm, maxVcpusPerVm, maxDevicesPerVm, maxDisksPerDevice, DEFAULT_MAX_NICS_PER_VM);
  }

  /** Every driver the validator knows, 64 GiB, 64 vCPUs, 8 devices, 8 disks per device, 4 NICs. */
  public static NodeLimits defaults() {
    return new NodeLimits(SpecValidator.KNOWN_DRIVERS, 65536, 64, 8, 8);
  }

  private static void requirePositive(String name, int value) {
    if (value < 1) {
      throw new IllegalArgumentException(name + " must be at least 1, not " + value);
    }
  }
}
