package io.mpqemu.agent.qemu;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.ArrayList;
import java.util.List;

/**
 * The {@code -netdev} and {@code -device} options of one NIC, in JSON: every value comes from a validated
 * spec (ids, models from the allow-list, MACs, IPv4 addresses and ports) or from the agent (descriptor
 * numbers), never from free text.
 */
final class NicArgs {

  private NicArgs() {}

  static String netdevId(QemuCommandLine.Nic nic) {
    return "net-" + nic.id();
  }

  /** {@code -netdev} and its backend: user-mode NAT with its forwards, or the tap the agent opened as {@code tapFd}. */
  static List<String> netdev(QemuCommandLine.Nic nic, int tapFd) {
    JsonObject netdev = new JsonObject().put("id", netdevId(nic));
    if (nic.user()) {
      netdev.put("type", "user").put("restrict", nic.restrict());
      if (!nic.hostForwards().isEmpty()) {
        JsonArray forwards = new JsonArray();
        nic.hostForwards().forEach(f -> forwards.add(new JsonObject().put("str", f)));
        netdev.put("hostfwd", forwards);
      }
    } else {
      netdev.put("type", "tap").put("fd", Integer.toString(tapFd));
    }
    return List.of("-netdev", netdev.encode());
  }

  /**
   * The NIC itself on that backend. A proxied NIC has no option ROM (the proxy does not carry a ROM BAR);
   * in the main QEMU it keeps its ROM (PXE), as QEMU gives it.
   */
  static List<String> device(QemuCommandLine.Nic nic) {
    JsonObject qdev = new JsonObject().put("driver", nic.model()).put("id", nic.id()).put("netdev", netdevId(nic))
        .put("mac", nic.mac());
    if (!nic.inMain()) {
      qdev.put("romfile", "");
    }
    List<String> argv = new ArrayList<>();
    argv.add("-device");
    argv.add(qdev.encode());
    return argv;
  }
}
