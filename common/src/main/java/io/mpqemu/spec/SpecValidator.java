package io.mpqemu.spec;

import io.mpqemu.errors.Echo;
import io.mpqemu.v1.Disk;
import io.mpqemu.v1.ProxiedDevice;
import io.mpqemu.v1.RestartPolicy;
import io.mpqemu.v1.VmSpec;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Pattern;

/**
 * Decides whether a {@link VmSpec} may run, identically in the control plane and the node agent.
 * Every string that later reaches a QEMU command line is held to a strict pattern here, so that no
 * spec can inject a QEMU option or name a file outside the node's image root.
 */
public final class SpecValidator {

  /** The drivers whose QEMU command line this version knows how to build. */
  public static final Set<String> KNOWN_DRIVERS =
      Set.of("lsi53c895a", "megasas", "nvme", "virtio-blk-pci");

  /** The machine types the main QEMU may use; "" means "pc". */
  public static final Set<String> KNOWN_MACHINES = Set.of("pc", "q35");

  public static final int MIN_MEMORY_MIB = 16;
  public static final int MAX_LABELS = 64;
  public static final int MAX_IMAGE_LENGTH = 255;

  /** The longest VM id (the control plane's are UUIDs, 36): it names a directory holding a UNIX socket. */
  public static final int MAX_VM_ID_LENGTH = 63;
  private static final Pattern VM_ID = Pattern.compile("[a-z0-9][a-z0-9-]{0," + (MAX_VM_ID_LENGTH - 1) + "}");
  private static final Pattern NAME = Pattern.compile("[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?");
  private static final Pattern DEVICE_OR_DISK_ID = Pattern.compile("[a-z][a-z0-9_-]{0,30}");
  private static final Pattern IMAGE_CHARS = Pattern.compile("[A-Za-z0-9._/-]+");
  private static final Pattern LABEL_KEY = Pattern.compile("[a-z0-9][a-z0-9._/-]{0,62}");
  private static final Pattern LABEL_VALUE = Pattern.compile("[A-Za-z0-9._-]{0,63}");

  private static final String ID_RULE =
      "use 1 to 31 lowercase letters, digits, '_' and '-', starting with a letter";

  private SpecValidator() {}

  /**
   * Checks every field of the spec against the rules and the node's limits.
   *
   * @throws InvalidSpecException naming the first offending field
   */
  public static void validate(VmSpec spec, NodeLimits limits) {
    validateName(spec.getName());
    validateMemory(spec.getMemoryMib(), limits);
    validateVcpus(spec.getVcpus(), limits);
    validateMachine(spec.getMachine());
    validateRestartPolicy(spec.getRestartPolicy());
    validateLabels("labels", spec.getLabelsMap());
    validateLabels("node_selector", spec.getNodeSelectorMap());
    validateDevices(spec.getDevicesList(), limits);
    validateBoot(spec.getBoot());
    ReadyPattern.validate(spec.getReadyPattern());
    CloudInitSeed.validate(spec, limits);
    NicRules.validate(spec, limits);
    int processes = spec.getDevicesCount() + (CloudInitSeed.wanted(spec) ? 1 : 0) + NicRules.deviceProcesses(spec);
    if (processes > limits.maxDevicesPerVm()) {
      throw new InvalidSpecException("nics", "the VM would run " + processes + " device processes (its devices"
          + (CloudInitSeed.wanted(spec) ? ", its cloud-init seed" : "") + " and its NICs in device processes): this"
          + " node allows at most " + limits.maxDevicesPerVm() + " per VM; drop one, or place a NIC in the main QEMU.");
    }
  }

  /** The longest kernel command line x86 Linux takes (COMMAND_LINE_SIZE). */
  public static final int MAX_CMDLINE_BYTES = 2048;

  private static void validateBoot(io.mpqemu.v1.Boot boot) {
    if (boot.getKernel().isEmpty()) {
      if (!boot.getInitrd().isEmpty() || !boot.getCmdline().isEmpty()) {
        String field = boot.getInitrd().isEmpty() ? "boot.cmdline" : "boot.initrd";
        throw new InvalidSpecException(field, field + " is set without boot.kernel: name the kernel to boot"
            + " (relative to the node's image root), or leave boot out to boot from the first disk.");
      }
      return;
    }
    validateImage("boot.kernel", boot.getKernel());
    if (!boot.getInitrd().isEmpty()) {
      validateImage("boot.initrd", boot.getInitrd());
    }
    String cmdline = boot.getCmdline();
    if (cmdline.length() > MAX_CMDLINE_BYTES) {
      throw new InvalidSpecException("boot.cmdline", "boot.cmdline is " + cmdline.length() + " characters long: keep it"
          + " to " + MAX_CMDLINE_BYTES + ", the most an x86 Linux kernel takes.");
    }
    for (int i = 0; i < cmdline.length(); i++) {
      char c = cmdline.charAt(i);
      if (c < 0x20 || c > 0x7e) {
        throw new InvalidSpecException("boot.cmdline", "boot.cmdline has a character that is not printable ASCII at"
            + " position " + i + " (" + String.format("U+%04X", (int) c) + "): a kernel command line is printable"
            + " ASCII, words separated by spaces.");
      }
    }
  }

  /** True if {@code vmId} is a VM id as {@link #validateVmId} accepts it (safe as a file name). */
  public static boolean isValidVmId(String vmId) {
    return vmId != null && VM_ID.matcher(vmId).matches();
  }

  /** Checks a VM id as the control plane assigns it and the agent uses it in paths. */
  public static void validateVmId(String vmId) {
    if (vmId == null || !VM_ID.matcher(vmId).matches()) {
      throw new InvalidSpecException(
          "vm_id",
          "vm_id " + quote(vmId) + " is not valid: use 1 to 63 lowercase letters, digits and '-',"
              + " starting with a letter or digit.");
    }
  }

  /** The machine type of the main QEMU: "pc" when the spec leaves it empty. */
  public static String machineOrDefault(VmSpec spec) {
    return spec.getMachine().isEmpty() ? "pc" : spec.getMachine();
  }

  /** The number of vCPUs: 1 when the spec leaves it 0. */
  public static int vcpusOrDefault(VmSpec spec) {
    return vcpusOrDefault(spec.getVcpus());
  }

  /** The vCPUs of a spec whose vcpus field says {@code vcpus}: 1 when it is 0. */
  public static int vcpusOrDefault(int vcpus) {
    return vcpus == 0 ? 1 : vcpus;
  }

  /** The image format: "raw" when the disk leaves it empty. */
  public static String formatOrDefault(Disk disk) {
    if (!disk.getBase().isEmpty()) {
      return "qcow2"; // its own overlay
    }
    return disk.getFormat().isEmpty() ? "raw" : disk.getFormat();
  }

  /** The SCSI target id of a disk on a SCSI controller: its explicit scsi_id, else its index. */
  public static int scsiIdOf(ProxiedDevice device, int diskIndex) {
    Disk disk = device.getDisks(diskIndex);
    return disk.hasScsiId() ? disk.getScsiId() : diskIndex;
  }

  /** Whether the driver is a SCSI controller (its disks are scsi-hd children on its bus). */
  public static boolean isScsiController(String driver) {
    return "lsi53c895a".equals(driver) || "megasas".equals(driver);
  }

  /**
   * The highest SCSI target id a disk may use on this controller: 6 on lsi53c895a (7 is the
   * controller's own id); 63 on megasas (QEMU 7.2 serves 64 logical drives and rejects ids above 64).
   */
  public static int maxScsiId(String driver) {
    return switch (driver) {
      case "lsi53c895a" -> 6;
      case "megasas" -> 63;
      default -> throw new IllegalArgumentException("not a SCSI controller: " + driver);
    };
  }

  private static void validateName(String name) {
    if (name.isEmpty()) {
      throw new InvalidSpecException("name", "name is required: give the VM a name such as \"web-1\".");
    }
    if (!NAME.matcher(name).matches()) {
      throw new InvalidSpecException(
          "name",
          "name " + quote(name) + " is not valid: use 1 to 63 lowercase letters, digits and '-',"
              + " starting and ending with a letter or digit.");
    }
  }

  private static void validateMemory(int memoryMib, NodeLimits limits) {
    long mib = Integer.toUnsignedLong(memoryMib);
    if (mib == 0) {
      throw new InvalidSpecException(
          "memory_mib", "memory_mib is required: give the guest RAM in MiB, at least " + MIN_MEMORY_MIB + ".");
    }
    if (mib < MIN_MEMORY_MIB) {
      throw new InvalidSpecException(
          "memory_mib", "memory_mib " + mib + " is too small: ask for at least " + MIN_MEMORY_MIB + " MiB.");
    }
    if (mib > limits.maxMemoryMibPerVm()) {
      throw new InvalidSpecException(
          "memory_mib",
          "memory_mib " + mib + " is more than a VM may have on this node: ask for at most "
              + limits.maxMemoryMibPerVm() + " MiB.");
    }
  }

  private static void validateVcpus(int vcpus, NodeLimits limits) {
    long n = Integer.toUnsignedLong(vcpus);
    if (n > limits.maxVcpusPerVm()) {
      throw new InvalidSpecException(
          "vcpus",
          "vcpus " + n + " is more than a VM may have on this node: ask for at most "
              + limits.maxVcpusPerVm() + " (0 means 1).");
    }
  }

  private static void validateMachine(String machine) {
    if (!machine.isEmpty() && !KNOWN_MACHINES.contains(machine)) {
      throw new InvalidSpecException(
          "machine", "machine " + quote(machine) + " is not supported: use \"pc\" (the default) or \"q35\".");
    }
  }

  private static void validateRestartPolicy(RestartPolicy policy) {
    if (policy == RestartPolicy.UNRECOGNIZED) {
      throw new InvalidSpecException(
          "restart_policy",
          "restart_policy is not a known value: use NEVER, ON_FAILURE or ALWAYS.");
    }
  }

  private static void validateLabels(String field, Map<String, String> labels) {
    if (labels.size() > MAX_LABELS) {
      throw new InvalidSpecException(
          field, field + " has " + labels.size() + " entries: keep at most " + MAX_LABELS + ".");
    }
    for (String key : new TreeSet<>(labels.keySet())) {
      if (!LABEL_KEY.matcher(key).matches()) {
        throw new InvalidSpecException(
            field,
            field + " has a key " + quote(key) + " that is not valid: use 1 to 63 lowercase letters,"
                + " digits, '.', '_', '/' and '-', starting with a letter or digit.");
      }
      String value = labels.get(key);
      if (!LABEL_VALUE.matcher(value).matches()) {
        String path = field + "[\"" + key + "\"]";
        throw new InvalidSpecException(
            path,
            path + " " + quote(value) + " is not valid: use at most 63 letters, digits, '.', '_' and '-'.");
      }
    }
  }

  private static void validateDevices(List<ProxiedDevice> devices, NodeLimits limits) {
    if (devices.isEmpty()) {
      throw new InvalidSpecException(
          "devices",
          "devices is empty: a multi-process VM needs at least one proxied device, such as an"
              + " lsi53c895a controller with its boot disk.");
    }
    if (devices.size() > limits.maxDevicesPerVm()) {
      throw new InvalidSpecException(
          "devices",
          "devices lists " + devices.size() + " devices: this node allows at most "
              + limits.maxDevicesPerVm() + " per VM.");
    }
    Set<String> deviceIds = new HashSet<>();
    for (int i = 0; i < devices.size(); i++) {
      ProxiedDevice device = devices.get(i);
      String prefix = "devices[" + i + "]";
      validateId(prefix + ".id", device.getId());
      if (!deviceIds.add(device.getId())) {
        throw new InvalidSpecException(
            prefix + ".id",
            prefix + ".id " + quote(device.getId()) + " is used by an earlier device: give each device its own id.");
      }
      validateDriver(prefix + ".driver", device.getDriver(), limits);
    }
    Map<String, String> diskIds = new HashMap<>();
    for (int i = 0; i < devices.size(); i++) {
      validateDisks(devices.get(i), "devices[" + i + "]", deviceIds, diskIds, limits);
    }
  }

  private static void validateDriver(String field, String driver, NodeLimits limits) {
    if (driver.isEmpty()) {
      throw new InvalidSpecException(
          field, field + " is required: use one of " + usableDrivers(limits) + ".");
    }
    if (!KNOWN_DRIVERS.contains(driver)) {
      throw new InvalidSpecException(
          field,
          field + " " + quote(driver) + " is not a driver mpqemu can run: use one of "
              + usableDrivers(limits) + ".");
    }
    if (!limits.allowedDrivers().contains(driver)) {
      throw new InvalidSpecException(
          field,
          field + " " + quote(driver) + " is not allowed on this node: use one of "
              + usableDrivers(limits) + ".");
    }
  }

  private static void validateDisks(
      ProxiedDevice device,
      String prefix,
      Set<String> deviceIds,
      Map<String, String> diskIds,
      NodeLimits limits) {
    String driver = device.getDriver();
    boolean scsi = isScsiController(driver);
    int count = device.getDisksCount();
    if (scsi && count > limits.maxDisksPerDevice()) {
      throw new InvalidSpecException(
          prefix + ".disks",
          prefix + ".disks lists " + count + " disks: this node allows at most "
              + limits.maxDisksPerDevice() + " per device.");
    }
    if (!scsi && count != 1) {
      throw new InvalidSpecException(
          prefix + ".disks",
          prefix + ".disks lists " + count + " disks: a " + driver + " device serves exactly one.");
    }
    Map<Integer, String> scsiIds = new HashMap<>();
    for (int j = 0; j < count; j++) {
      Disk disk = device.getDisks(j);
      String path = prefix + ".disks[" + j + "]";
      validateId(path + ".id", disk.getId());
      if (deviceIds.contains(disk.getId())) {
        throw new InvalidSpecException(
            path + ".id",
            path + ".id " + quote(disk.getId()) + " is already a device id: give the disk an id of its own.");
      }
      String earlier = diskIds.putIfAbsent(disk.getId(), path);
      if (earlier != null) {
        throw new InvalidSpecException(
            path + ".id",
            path + ".id " + quote(disk.getId()) + " is already used by " + earlier
                + ": disk ids must be unique within the VM.");
      }
      DiskSources.validate(path, disk);
      if (scsi) {
        validateScsiId(device, j, path, scsiIds);
      } else if (disk.hasScsiId()) {
        throw new InvalidSpecException(
            path + ".scsi_id",
            path + ".scsi_id is set, but a " + driver + " disk has no SCSI id: leave it unset.");
      }
    }
  }

  private static void validateScsiId(
      ProxiedDevice device, int index, String path, Map<Integer, String> used) {
    int max = maxScsiId(device.getDriver());
    long id = Integer.toUnsignedLong(scsiIdOf(device, index));
    if (id > max) {
      String how = device.getDisks(index).hasScsiId() ? "" : " (taken from its position)";
      throw new InvalidSpecException(
          path + ".scsi_id",
          path + ".scsi_id " + id + how + " is out of range: " + device.getDriver()
              + " takes SCSI ids 0 to " + max + ".");
    }
    String earlier = used.putIfAbsent((int) id, path);
    if (earlier != null) {
      throw new InvalidSpecException(
          path + ".scsi_id",
          path + ".scsi_id " + id + " is already used by " + earlier
              + " (unset ids count 0, 1, 2, ... by position): give each disk its own scsi_id.");
    }
  }

  static void validateImage(String field, String image) {
    String rule = ": use a path relative to the node's image root, such as \"vm1/boot.img\".";
    if (image.isEmpty()) {
      throw new InvalidSpecException(field, field + " is required" + rule);
    }
    if (image.length() > MAX_IMAGE_LENGTH) {
      throw new InvalidSpecException(
          field, field + " is " + image.length() + " characters long: keep it to " + MAX_IMAGE_LENGTH + ".");
    }
    if (!IMAGE_CHARS.matcher(image).matches()) {
      throw new InvalidSpecException(
          field,
          field + " " + quote(image) + " may only contain letters, digits, '.', '_', '-' and '/'" + rule);
    }
    if (image.startsWith("/")) {
      throw new InvalidSpecException(field, field + " " + quote(image) + " is absolute" + rule);
    }
    if (image.startsWith("-")) {
      throw new InvalidSpecException(field, field + " " + quote(image) + " starts with '-'" + rule);
    }
    for (String segment : image.split("/", -1)) {
      if (segment.isEmpty() || segment.equals(".") || segment.equals("..")) {
        throw new InvalidSpecException(
            field,
            field + " " + quote(image) + " has an empty, '.' or '..' path segment" + rule);
      }
    }
  }

  static void validateFormat(String field, String format) {
    if (!format.isEmpty() && !format.equals("raw") && !format.equals("qcow2")) {
      throw new InvalidSpecException(
          field, field + " " + quote(format) + " is not supported: use \"raw\" (the default) or \"qcow2\".");
    }
  }

  /** A device's or a NIC's id: a qdev id and a process name. */
  static void validateDeviceId(String field, String id) {
    validateId(field, id);
  }

  private static void validateId(String field, String id) {
    if (id.isEmpty()) {
      throw new InvalidSpecException(field, field + " is required: " + ID_RULE + ".");
    }
    if (!DEVICE_OR_DISK_ID.matcher(id).matches()) {
      throw new InvalidSpecException(field, field + " " + quote(id) + " is not valid: " + ID_RULE + ".");
    }
  }

  private static String usableDrivers(NodeLimits limits) {
    Set<String> usable = new TreeSet<>(limits.allowedDrivers());
    usable.retainAll(KNOWN_DRIVERS);
    return usable.isEmpty() ? "none (this node allows no driver mpqemu knows)" : String.join(", ", usable);
  }

  /** A user value in a message, in double quotes as the spec's JSON has it: cut short and printable ({@link Echo}). */
  static String quote(String value) {
    return value == null ? "null" : "\"" + Echo.of(value) + "\"";
  }
}
