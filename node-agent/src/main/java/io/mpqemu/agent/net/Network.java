package io.mpqemu.agent.net;

import java.util.List;

/**
 * A network a node offers its VMs' NICs.
 *
 * @param name what a NIC's {@code network} names
 * @param kind how the NIC reaches it
 * @param bridge for {@link Kind#BRIDGE}: the host bridge the NICs' taps join
 * @param restrict for {@link Kind#USER}: QEMU's {@code restrict=on}, so that the guest reaches nothing beyond
 *     the NAT's DHCP server (libslirp drops every other datagram, DNS included) and the forwards declared into it
 * @param forwardAddresses for {@link Kind#USER}: host addresses a port forward may listen on
 */
public record Network(String name, Kind kind, String bridge, boolean restrict, List<String> forwardAddresses) {

  public enum Kind {
    /** QEMU's user-mode NAT: no root, no bridge; forwards host ports into the guest. */
    USER,
    /** A tap per NIC on a host bridge, made by the agent and handed to the NIC's process. */
    BRIDGE
  }

  public Network {
    forwardAddresses = List.copyOf(forwardAddresses);
  }

  /** The embedded default: user-mode, restricted, forwards on loopback only. */
  public static Network defaultUser(String name) {
    return new Network(name, Kind.USER, "", true, List.of("127.0.0.1"));
  }
}
