package io.mpqemu.spec;

import io.mpqemu.v1.CloudInit;
import io.mpqemu.v1.Disk;
import io.mpqemu.v1.ProxiedDevice;
import io.mpqemu.v1.VmSpec;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * A spec's {@code cloud_init}: its bounds, the NoCloud seed's files, and the device that carries the seed
 * into the guest. The seed is a read-only disk of a proxied {@code virtio-blk-pci} of its own, not a disk
 * of a controller the VM has: the guest's kernel always has the driver, the VM needs no SCSI controller
 * for it, and the process that parses the guest's requests to it sees nothing but the seed. Pure.
 */
public final class CloudInitSeed {

  /** The id of the seed's device and of its disk; the volume label NoCloud looks for. */
  public static final String ID = "cidata";
  public static final String DRIVER = "virtio-blk-pci";
  public static final int MAX_USER_DATA_BYTES = 65536;
  public static final int MAX_META_DATA_BYTES = 16384;
  public static final int MAX_NETWORK_CONFIG_BYTES = 16384;

  private static final Pattern INSTANCE_ID = Pattern.compile("(?m)^instance-id[ \\t]*:");
  private static final Pattern LOCAL_HOSTNAME = Pattern.compile("(?m)^local-hostname[ \\t]*:");

  private CloudInitSeed() {}

  /** Whether the VM gets a seed. */
  public static boolean wanted(VmSpec spec) {
    return spec.hasCloudInit();
  }

  /**
   * The devices the VM runs, in order: the spec's, then the seed's when it has {@code cloud_init}. Every
   * place that starts, wires, records or counts device processes goes through here.
   */
  public static List<ProxiedDevice> devicesOf(VmSpec spec) {
    if (!wanted(spec)) {
      return spec.getDevicesList();
    }
    List<ProxiedDevice> all = new ArrayList<>(spec.getDevicesList());
    all.add(ProxiedDevice.newBuilder().setId(ID).setDriver(DRIVER)
        .addDisks(Disk.newBuilder().setId(ID).setFormat("raw").setReadOnly(true)).build());
    return List.copyOf(all);
  }

  /** Checks {@code cloud_init} and that the VM's own devices and disks leave its id free. */
  static void validate(VmSpec spec, NodeLimits limits) {
    if (!wanted(spec)) {
      return;
    }
    CloudInit ci = spec.getCloudInit();
    checkText("cloud_init.user_data", ci.getUserData(), MAX_USER_DATA_BYTES);
    checkText("cloud_init.meta_data", ci.getMetaData(), MAX_META_DATA_BYTES);
    checkText("cloud_init.network_config", ci.getNetworkConfig(), MAX_NETWORK_CONFIG_BYTES);
    String firstLine = ci.getMetaData().lines().map(String::strip)
        .filter(l -> !l.isEmpty() && !l.startsWith("#")).findFirst().orElse("");
    if (firstLine.startsWith("{") || firstLine.startsWith("[")) {
      throw new InvalidSpecException("cloud_init.meta_data", "cloud_init.meta_data is written in flow style (JSON):"
          + " write it as a YAML block mapping, one \"key: value\" per line, so the node can add instance-id and"
          + " local-hostname when it lacks them.");
    }
    for (int i = 0; i < spec.getDevicesCount(); i++) {
      ProxiedDevice d = spec.getDevices(i);
      if (d.getId().equals(ID)) {
        throw new InvalidSpecException("devices[" + i + "].id", "devices[" + i + "].id \"" + ID + "\" is the"
            + " cloud-init seed's device when cloud_init is set: give the device another id.");
      }
      for (int k = 0; k < d.getDisksCount(); k++) {
        if (d.getDisks(k).getId().equals(ID)) {
          throw new InvalidSpecException("devices[" + i + "].disks[" + k + "].id", "devices[" + i + "].disks[" + k
              + "].id \"" + ID + "\" is the cloud-init seed's disk when cloud_init is set: give the disk another id.");
        }
      }
    }
    if (spec.getDevicesCount() + 1 > limits.maxDevicesPerVm()) {
      throw new InvalidSpecException("cloud_init", "cloud_init adds the seed's own device process to the "
          + spec.getDevicesCount() + " devices: this node allows at most " + limits.maxDevicesPerVm()
          + " per VM; drop a device or cloud_init.");
    }
    if (!limits.allowedDrivers().contains(DRIVER)) {
      throw new InvalidSpecException("cloud_init", "cloud_init is carried by a " + DRIVER + " device, which this"
          + " node does not allow: leave cloud_init out, or allow " + DRIVER + " on the node.");
    }
  }

  /**
   * The seed's files by name: {@code meta-data} with the defaults added, {@code user-data}, and
   * {@code network-config} when given.
   */
  public static Map<String, byte[]> files(String vmId, VmSpec spec) {
    CloudInit ci = spec.getCloudInit();
    Map<String, byte[]> files = new LinkedHashMap<>();
    files.put("meta-data", metaData(vmId, spec.getName(), ci.getMetaData()).getBytes(StandardCharsets.UTF_8));
    files.put("user-data", ci.getUserData().getBytes(StandardCharsets.UTF_8));
    if (!ci.getNetworkConfig().isEmpty()) {
      files.put("network-config", ci.getNetworkConfig().getBytes(StandardCharsets.UTF_8));
    }
    return files;
  }

  /** {@code given} with {@code instance-id} and {@code local-hostname} first when it does not set them. */
  static String metaData(String vmId, String name, String given) {
    StringBuilder out = new StringBuilder();
    if (!INSTANCE_ID.matcher(given).find()) {
      out.append("instance-id: ").append(vmId).append('\n');
    }
    if (!LOCAL_HOSTNAME.matcher(given).find()) {
      out.append("local-hostname: ").append(name).append('\n');
    }
    out.append(given);
    if (!given.isEmpty() && !given.endsWith("\n")) {
      out.append('\n');
    }
    return out.toString();
  }

  private static void checkText(String field, String text, int maxBytes) {
    int bytes = text.getBytes(StandardCharsets.UTF_8).length;
    if (bytes > maxBytes) {
      throw new InvalidSpecException(field, field + " is " + bytes + " bytes: keep it to " + maxBytes
          + " (fetch larger content from the guest with cloud-init's #include, or bake it into the image).");
    }
    int nul = text.indexOf('\0');
    if (nul >= 0) {
      throw new InvalidSpecException(field, field + " has a NUL character at position " + nul + ": it is a text file"
          + " for the guest; gzip-compressed user data is not supported.");
    }
  }
}
