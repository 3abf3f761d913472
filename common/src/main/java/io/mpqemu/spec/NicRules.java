package io.mpqemu.spec;

import io.mpqemu.v1.Nic;
import io.mpqemu.v1.NicPlacement;
import io.mpqemu.v1.PortForward;
import io.mpqemu.v1.ProxiedDevice;
import io.mpqemu.v1.VmSpec;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * A spec's {@code nics}: what each may say, and the defaults a node fills in (model, network, MAC). What
 * depends on the node (its networks, the ports and MACs in use there) is the agent's to check. Pure.
 */
public final class NicRules {

  /** Models verified to work as proxied devices (INTx, 32-bit BARs, no ROM). */
  public static final List<String> PROXIED_MODELS = List.of("e1000e", "e1000");
  public static final String MAIN_MODEL = "virtio-net-pci";
  public static final String DEFAULT_NETWORK = "default";

  private static final Pattern NETWORK = Pattern.compile("[a-z][a-z0-9-]{0,30}");
  private static final Pattern MAC = Pattern.compile("[0-9a-f]{2}(:[0-9a-f]{2}){5}");
  private static final Pattern IPV4 = Pattern.compile(
      "(25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)(\\.(25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)){3}");

  private NicRules() {}

  public static boolean inDeviceProcess(Nic nic) {
    return nic.getPlacement() != NicPlacement.MAIN;
  }

  /** The model the NIC runs: its own, else e1000e in a device process, virtio-net-pci in the main QEMU. */
  public static String modelOf(Nic nic) {
    return !nic.getModel().isEmpty() ? nic.getModel() : inDeviceProcess(nic) ? PROXIED_MODELS.get(0) : MAIN_MODEL;
  }

  public static String networkOf(Nic nic) {
    return nic.getNetwork().isEmpty() ? DEFAULT_NETWORK : nic.getNetwork();
  }

  /** The NIC's MAC: its own, else 02:xx:xx:xx:xx:xx from a hash of the VM's and the NIC's ids (locally administered). */
  public static String macOf(String vmId, Nic nic) {
    if (!nic.getMac().isEmpty()) {
      return nic.getMac();
    }
    try {
      byte[] h = MessageDigest.getInstance("SHA-256").digest((vmId + "/" + nic.getId()).getBytes(StandardCharsets.UTF_8));
      StringBuilder mac = new StringBuilder("02");
      for (int i = 0; i < 5; i++) {
        mac.append(':').append(HexFormat.of().toHexDigits(h[i]));
      }
      return mac.toString();
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is part of every Java platform", e);
    }
  }

  /** The host address a forward listens on. */
  public static String hostAddressOf(PortForward f) {
    return f.getHostAddress().isEmpty() ? "127.0.0.1" : f.getHostAddress();
  }

  public static String protocolOf(PortForward f) {
    return f.getProtocol().isEmpty() ? "tcp" : f.getProtocol();
  }

  /** The networks the VM's NICs are on: a node must define them all. */
  public static Set<String> networksOf(VmSpec spec) {
    Set<String> networks = new java.util.TreeSet<>();
    spec.getNicsList().forEach(n -> networks.add(networkOf(n)));
    return networks;
  }

  /** How many device processes the NICs add. */
  public static int deviceProcesses(VmSpec spec) {
    return (int) spec.getNicsList().stream().filter(NicRules::inDeviceProcess).count();
  }

  static void validate(VmSpec spec, NodeLimits limits) {
    if (spec.getNicsCount() == 0) {
      return;
    }
    if (spec.getNicsCount() > limits.maxNicsPerVm()) {
      throw new InvalidSpecException("nics", "nics lists " + spec.getNicsCount() + " NICs: this node allows at most "
          + limits.maxNicsPerVm() + " per VM.");
    }
    Set<String> ids = new HashSet<>();
    spec.getDevicesList().stream().map(ProxiedDevice::getId).forEach(ids::add);
    Set<String> macs = new HashSet<>();
    Set<String> forwards = new HashSet<>();
    for (int i = 0; i < spec.getNicsCount(); i++) {
      Nic nic = spec.getNics(i);
      String at = "nics[" + i + "]";
      SpecValidator.validateDeviceId(at + ".id", nic.getId());
      if (!ids.add(nic.getId()) || (CloudInitSeed.wanted(spec) && nic.getId().equals(CloudInitSeed.ID))) {
        throw new InvalidSpecException(at + ".id", at + ".id " + SpecValidator.quote(nic.getId()) + " is the id of"
            + " another device or NIC of the VM: NICs and devices share one set of ids.");
      }
      validateModel(at, nic);
      if (!nic.getNetwork().isEmpty() && !NETWORK.matcher(nic.getNetwork()).matches()) {
        throw new InvalidSpecException(at + ".network", at + ".network " + SpecValidator.quote(nic.getNetwork())
            + " is not a network name: use 1 to 31 lowercase letters, digits and '-', starting with a letter (empty: \""
            + DEFAULT_NETWORK + "\").");
      }
      if (!nic.getMac().isEmpty()) {
        validateMac(at + ".mac", nic.getMac());
        if (!macs.add(nic.getMac())) {
          throw new InvalidSpecException(at + ".mac", at + ".mac " + nic.getMac() + " is an earlier NIC's: each NIC"
              + " needs its own.");
        }
      }
      for (int k = 0; k < nic.getPortForwardsCount(); k++) {
        PortForward f = nic.getPortForwards(k);
        String fat = at + ".port_forwards[" + k + "]";
        validateForward(fat, f);
        String key = protocolOf(f) + " " + hostAddressOf(f) + ":" + f.getHostPort();
        if (!forwards.add(key)) {
          throw new InvalidSpecException(fat + ".host_port", fat + " forwards " + key + ", as an earlier forward of the"
              + " VM does: each host port is forwarded once.");
        }
      }
    }
  }

  private static void validateModel(String at, Nic nic) {
    if (nic.getModel().isEmpty()) {
      return;
    }
    if (inDeviceProcess(nic) && !PROXIED_MODELS.contains(nic.getModel())) {
      throw new InvalidSpecException(at + ".model", at + ".model " + SpecValidator.quote(nic.getModel()) + " cannot"
          + " run in a device process: use " + String.join(" or ", PROXIED_MODELS) + " (or placement MAIN for "
          + MAIN_MODEL + ").");
    }
    if (!inDeviceProcess(nic) && !nic.getModel().equals(MAIN_MODEL) && !PROXIED_MODELS.contains(nic.getModel())) {
      throw new InvalidSpecException(at + ".model", at + ".model " + SpecValidator.quote(nic.getModel()) + " is not"
          + " offered in the main QEMU: use " + MAIN_MODEL + " (the default there), " + String.join(" or ",
          PROXIED_MODELS) + ".");
    }
  }

  private static void validateMac(String field, String mac) {
    if (!MAC.matcher(mac).matches()) {
      throw new InvalidSpecException(field, field + " " + SpecValidator.quote(mac) + " is not a MAC address: write six"
          + " lowercase hex pairs separated by ':' (or leave it out for one derived from the VM).");
    }
    int first = Integer.parseInt(mac.substring(0, 2), 16);
    if ((first & 1) != 0) {
      throw new InvalidSpecException(field, field + " " + mac + " is a multicast address: a NIC needs a unicast one"
          + " (an even first byte).");
    }
    if (mac.equals("00:00:00:00:00:00")) {
      throw new InvalidSpecException(field, field + " is all zeros: a NIC needs an address of its own.");
    }
  }

  private static void validateForward(String at, PortForward f) {
    String protocol = f.getProtocol().toLowerCase(Locale.ROOT);
    if (!f.getProtocol().isEmpty() && !(f.getProtocol().equals("tcp") || f.getProtocol().equals("udp"))) {
      throw new InvalidSpecException(at + ".protocol", at + ".protocol " + SpecValidator.quote(protocol) + " is not"
          + " forwarded: use \"tcp\" (the default) or \"udp\".");
    }
    if (!f.getHostAddress().isEmpty() && !IPV4.matcher(f.getHostAddress()).matches()) {
      throw new InvalidSpecException(at + ".host_address", at + ".host_address " + SpecValidator.quote(f.getHostAddress())
          + " is not an IPv4 address in dotted form (empty: 127.0.0.1).");
    }
    if (f.getHostPort() < 1 || f.getHostPort() > 65535) {
      throw new InvalidSpecException(at + ".host_port", at + ".host_port " + Integer.toUnsignedString(f.getHostPort())
          + " is not a port: use 1 to 65535.");
    }
    if (f.getGuestPort() < 1 || f.getGuestPort() > 65535) {
      throw new InvalidSpecException(at + ".guest_port", at + ".guest_port "
          + Integer.toUnsignedString(f.getGuestPort()) + " is not a port: use 1 to 65535.");
    }
  }
}
