package io.mpqemu.agent.net;

import static org.assertj.core.api.Assertions.assertThat;

import io.mpqemu.agent.qemu.QemuCommandLine;
import io.mpqemu.v1.Nic;
import io.mpqemu.v1.VmSpec;
import io.vertx.core.json.JsonObject;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/**
 * A user-mode network is restricted unless a node's config says otherwise: the NIC's process gets
 * {@code "restrict": true} in its {@code -netdev}, so a guest reaches nothing beyond the NAT's DHCP and its
 * declared forwards (what the tests' guests rely on: they must reach no address outside this machine).
 */
class UserNetworkRestrictionTest {

  private static final QemuCommandLine COMMAND_LINE = new QemuCommandLine(Path.of("qemu-system-x86_64"));

  @Test
  @DisplayName("the default network, and a user network whose config leaves restrict out, give a restricted netdev")
  void restrictedUnlessSaidOtherwise() throws Exception {
    NodeNetworks networks = NodeNetworks.defaults().merge(new JsonObject()
        .put("lab", new JsonObject().put("type", "user")));
    for (String network : List.of("default", "lab")) {
      assertThat(netdevOf(networks, network)).as(network).contains("\"type\":\"user\"").contains("\"restrict\":true");
    }
  }

  @Test
  @DisplayName("a node that sets restrict false gets an unrestricted netdev: the setting is what decides")
  void unrestrictedOnlyWhenConfigured() throws Exception {
    NodeNetworks networks = NodeNetworks.defaults().merge(new JsonObject()
        .put("open", new JsonObject().put("type", "user").put("restrict", false)));
    assertThat(netdevOf(networks, "open")).contains("\"restrict\":false");
  }

  private static String netdevOf(NodeNetworks networks, String network) throws Exception {
    VmSpec spec = VmSpec.newBuilder().setName("r").addNics(Nic.newBuilder().setId("net0").setNetwork(network)).build();
    QemuCommandLine.Nic nic = new NicPreparer(networks).prepare("vm-r", spec).get(0);
    List<String> argv = COMMAND_LINE.nicRemote(nic);
    return argv.get(argv.indexOf("-netdev") + 1);
  }
}
