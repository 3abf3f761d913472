package io.mpqemu.agent.net;

import io.mpqemu.agent.qemu.QemuCommandLine;
import io.mpqemu.agent.sys.Fd;
import io.mpqemu.agent.sys.HostTool;
import io.mpqemu.agent.sys.Taps;
import io.mpqemu.spec.NicRules;
import io.mpqemu.v1.Nic;
import io.mpqemu.v1.PortForward;
import io.mpqemu.v1.VmSpec;
import java.io.IOException;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;

/**
 * What a VM's NICs need from this node, made or checked before any process starts: networks the node
 * defines; on user-mode networks forwards from host addresses the network allows and ports free here; on
 * bridges a tap per NIC, on the bridge. Answers the NICs as the command lines take them. Blocking (it binds
 * each forwarded port once to see that it is free, and runs {@code ip} for taps).
 */
public final class NicPreparer {

  /** Why a NIC cannot be had here; the message names the field. */
  public static final class NicException extends Exception {
    private static final long serialVersionUID = 1L;

    public NicException(String message) {
      super(message);
    }
  }

  private final NodeNetworks networks;

  public NicPreparer(NodeNetworks networks) {
    this.networks = networks;
  }

  /**
   * The VM's NICs; on a bridge each gets a tap made here, joined to the bridge and up, whose descriptor the
   * answer carries (the caller closes them once QEMU holds its own). On failure no tap is left.
   */
  public List<QemuCommandLine.Nic> prepare(String vmId, VmSpec spec) throws NicException {
    List<QemuCommandLine.Nic> nics = new ArrayList<>();
    try {
      for (int i = 0; i < spec.getNicsCount(); i++) {
        nics.add(prepare(vmId, spec.getNics(i), "nics[" + i + "]"));
      }
      return nics;
    } catch (NicException | RuntimeException e) {
      nics.forEach(QemuCommandLine.Nic::closeTap);
      throw e;
    }
  }

  private QemuCommandLine.Nic prepare(String vmId, Nic nic, String at) throws NicException {
    String name = NicRules.networkOf(nic);
    Network network = networks.get(name).orElseThrow(() -> new NicException(at + ".network '" + name + "' is not"
        + " a network of this node (it defines " + String.join(", ", networks.names()) + ")"));
    List<String> forwards = new ArrayList<>();
    for (int k = 0; k < nic.getPortForwardsCount(); k++) {
      forwards.add(forward(at + ".port_forwards[" + k + "]", network, nic.getPortForwards(k)));
    }
    String mac = NicRules.macOf(vmId, nic);
    boolean inMain = !NicRules.inDeviceProcess(nic);
    if (network.kind() == Network.Kind.USER) {
      return new QemuCommandLine.Nic(nic.getId(), NicRules.modelOf(nic), mac, name, inMain, true, network.restrict(), forwards,
          null);
    }
    return new QemuCommandLine.Nic(nic.getId(), NicRules.modelOf(nic), mac, name, inMain, false, false, List.of(),
        tapOn(network, tapName(vmId, nic.getId()), at));
  }

  /** A tap's name: "mpq" and 12 hex digits of the VM's and the NIC's ids (15 bytes, an interface name's most). */
  public static String tapName(String vmId, String nicId) {
    try {
      byte[] h = MessageDigest.getInstance("SHA-256").digest((vmId + "/" + nicId).getBytes(StandardCharsets.UTF_8));
      return "mpq" + HexFormat.of().formatHex(h, 0, 6);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is part of every Java platform", e);
    }
  }

  /** Makes the tap, joins it to the network's bridge and brings it up; on failure closes it (it goes away). */
  private static Fd tapOn(Network network, String tap, String at) throws NicException {
    if (!Files.isDirectory(Path.of("/sys/class/net", network.bridge(), "bridge"))) {
      throw new NicException(at + ".network '" + network.name() + "': its bridge " + network.bridge() + " is not a"
          + " bridge of this node (create it, or fix the node's networks config)");
    }
    Fd fd;
    try {
      fd = Taps.open(tap);
    } catch (IOException e) {
      throw new NicException(at + ": this node cannot make tap " + tap + ": " + e.getMessage());
    }
    try {
      HostTool.run(List.of("ip", "link", "set", "dev", tap, "master", network.bridge(), "up"), 10);
      return fd;
    } catch (HostTool.ToolFailed | IOException e) {
      fd.close();
      throw new NicException(at + ": tap " + tap + " could not join bridge " + network.bridge() + ": " + e.getMessage());
    }
  }

  /** QEMU's form of one forward, once its address is allowed and its port free. */
  private static String forward(String at, Network network, PortForward f) throws NicException {
    if (network.kind() != Network.Kind.USER) {
      throw new NicException(at + ": network '" + network.name() + "' is a bridge; port forwards are for user-mode"
          + " networks (on a bridge the guest has an address of its own)");
    }
    String address = NicRules.hostAddressOf(f);
    if (!network.forwardAddresses().contains(address)) {
      throw new NicException(at + ".host_address " + address + " is not one network '" + network.name()
          + "' forwards from (it allows " + String.join(", ", network.forwardAddresses()) + ")");
    }
    String protocol = NicRules.protocolOf(f);
    try {
      InetSocketAddress where = new InetSocketAddress(InetAddress.getByName(address), f.getHostPort());
      if (protocol.equals("tcp")) {
        try (ServerSocket probe = new ServerSocket()) {
          probe.bind(where);
        }
      } else {
        try (DatagramSocket probe = new DatagramSocket(where)) {
          probe.getLocalPort();
        }
      }
    } catch (IOException e) {
      throw new NicException(at + ": host port " + protocol + " " + address + ":" + f.getHostPort()
          + " is in use on this node (or cannot be bound: " + e.getMessage() + "); choose another");
    }
    return protocol + ":" + address + ":" + f.getHostPort() + "-:" + f.getGuestPort();
  }
}
