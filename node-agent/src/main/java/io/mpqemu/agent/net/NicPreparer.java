package io.mpqemu.agent.net;

import io.mpqemu.agent.qemu.QemuCommandLine;
import io.mpqemu.spec.NicRules;
import io.mpqemu.v1.Nic;
import io.mpqemu.v1.PortForward;
import io.mpqemu.v1.VmSpec;
import java.io.IOException;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.util.ArrayList;
import java.util.List;

/**
 * What a VM's NICs need from this node, checked before any process starts: networks the node defines,
 * forwards only on user-mode networks, on host addresses the network allows and ports free here. Answers
 * the NICs as the command lines take them. Blocking (it binds each forwarded port once to see that it is
 * free).
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

  public List<QemuCommandLine.Nic> prepare(String vmId, VmSpec spec) throws NicException {
    List<QemuCommandLine.Nic> nics = new ArrayList<>();
    for (int i = 0; i < spec.getNicsCount(); i++) {
      Nic nic = spec.getNics(i);
      String at = "nics[" + i + "]";
      String name = NicRules.networkOf(nic);
      Network network = networks.get(name).orElseThrow(() -> new NicException(at + ".network '" + name + "' is not"
          + " a network of this node (it defines " + String.join(", ", networks.names()) + ")"));
      List<String> forwards = new ArrayList<>();
      for (int k = 0; k < nic.getPortForwardsCount(); k++) {
        forwards.add(forward(at + ".port_forwards[" + k + "]", network, nic.getPortForwards(k)));
      }
      if (network.kind() == Network.Kind.BRIDGE) {
        throw new NicException(at + ".network '" + name + "' is a bridge network, which this agent cannot attach yet;"
            + " use a user-mode network");
      }
      nics.add(new QemuCommandLine.Nic(nic.getId(), NicRules.modelOf(nic), NicRules.macOf(vmId, nic),
          !NicRules.inDeviceProcess(nic), true, network.restrict(), forwards));
    }
    return nics;
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
