package io.mpqemu.spec;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.mpqemu.v1.CloudInit;
import io.mpqemu.v1.Disk;
import io.mpqemu.v1.Nic;
import io.mpqemu.v1.NicPlacement;
import io.mpqemu.v1.PortForward;
import io.mpqemu.v1.ProxiedDevice;
import io.mpqemu.v1.VmSpec;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

class NicRulesTest {

  private static VmSpec.Builder spec() {
    return VmSpec.newBuilder().setName("web").setMemoryMib(64)
        .addDevices(ProxiedDevice.newBuilder().setId("vblk0").setDriver("virtio-blk-pci")
            .addDisks(Disk.newBuilder().setId("root").setImage("root.img")));
  }

  private static VmSpec withNic(UnaryOperator<Nic.Builder> nic) {
    return spec().addNics(nic.apply(Nic.newBuilder().setId("net0"))).build();
  }

  private static void refused(VmSpec spec, String field, String message) {
    refused(spec, NodeLimits.defaults(), field, message);
  }

  private static void refused(VmSpec spec, NodeLimits limits, String field, String message) {
    assertThatThrownBy(() -> SpecValidator.validate(spec, limits))
        .isInstanceOfSatisfying(InvalidSpecException.class, e -> {
          assertThat(e.field()).isEqualTo(field);
          assertThat(e.getMessage()).contains(message);
        });
  }

  private static PortForward.Builder forward(int host, int guest) {
    return PortForward.newBuilder().setHostPort(host).setGuestPort(guest);
  }

  @Test
  @DisplayName("a NIC needs only an id: e1000e in a device process on the node's default network, a MAC of its own")
  void defaults() {
    VmSpec spec = withNic(n -> n);
    assertThatCode(() -> SpecValidator.validate(spec, NodeLimits.defaults())).doesNotThrowAnyException();
    Nic nic = spec.getNics(0);
    assertThat(NicRules.modelOf(nic)).isEqualTo("e1000e");
    assertThat(NicRules.networkOf(nic)).isEqualTo("default");
    assertThat(NicRules.inDeviceProcess(nic)).isTrue();
    String mac = NicRules.macOf("vm-1", nic);
    assertThat(mac).matches("02(:[0-9a-f]{2}){5}").isEqualTo(NicRules.macOf("vm-1", nic))
        .isNotEqualTo(NicRules.macOf("vm-2", nic));
    assertThat(NicRules.macOf("vm-1", nic.toBuilder().setMac("52:54:00:12:34:56").build())).isEqualTo("52:54:00:12:34:56");
    Nic main = Nic.newBuilder().setId("net1").setPlacement(NicPlacement.MAIN).build();
    assertThat(NicRules.modelOf(main)).isEqualTo("virtio-net-pci");
    assertThat(NicRules.deviceProcesses(spec.toBuilder().addNics(main).build())).isEqualTo(1);
  }

  @Test
  @DisplayName("an unknown model, a model the placement cannot run, a bad network name, a bad, multicast, zero or repeated MAC: refused naming the field")
  void badNics() {
    refused(withNic(n -> n.setModel("rtl8139")), "nics[0].model", "cannot run in a device process: use e1000e or e1000");
    refused(withNic(n -> n.setModel("rtl8139").setPlacement(NicPlacement.MAIN)), "nics[0].model",
        "is not offered in the main QEMU: use virtio-net-pci (the default there), e1000e or e1000");
    refused(withNic(n -> n.setModel("virtio-net-pci")), "nics[0].model", "cannot run in a device process");
    refused(withNic(n -> n.setNetwork("Lan 1")), "nics[0].network", "is not a network name");
    refused(withNic(n -> n.setMac("52:54:00:12:34")), "nics[0].mac", "is not a MAC address");
    refused(withNic(n -> n.setMac("01:00:5e:00:00:01")), "nics[0].mac", "is a multicast address");
    refused(withNic(n -> n.setMac("00:00:00:00:00:00")), "nics[0].mac", "all zeros");
    refused(spec().addNics(Nic.newBuilder().setId("a").setMac("52:54:00:00:00:01"))
        .addNics(Nic.newBuilder().setId("b").setMac("52:54:00:00:00:01")).build(), "nics[1].mac", "an earlier NIC's");
    refused(withNic(n -> n.setId("vblk0")), "nics[0].id", "NICs and devices share one set of ids");
    refused(spec().addNics(Nic.newBuilder().setId("cidata")).setCloudInit(CloudInit.getDefaultInstance()).build(),
        "nics[0].id", "share one set of ids");
    refused(withNic(n -> n.setId("Net 0")), "nics[0].id", "is not valid");
  }

  @Test
  @DisplayName("port forwards: tcp or udp, an IPv4 host address, ports 1..65535, each host port once")
  void forwards() {
    assertThatCode(() -> SpecValidator.validate(withNic(n -> n.addPortForwards(forward(8080, 80))
        .addPortForwards(forward(8080, 80).setProtocol("udp"))), NodeLimits.defaults())).doesNotThrowAnyException();
    refused(withNic(n -> n.addPortForwards(forward(8080, 80).setProtocol("sctp"))), "nics[0].port_forwards[0].protocol",
        "use \"tcp\"");
    refused(withNic(n -> n.addPortForwards(forward(8080, 80).setHostAddress("localhost"))),
        "nics[0].port_forwards[0].host_address", "not an IPv4 address");
    refused(withNic(n -> n.addPortForwards(forward(0, 80))), "nics[0].port_forwards[0].host_port", "use 1 to 65535");
    refused(withNic(n -> n.addPortForwards(forward(8080, 70000))), "nics[0].port_forwards[0].guest_port",
        "use 1 to 65535");
    refused(spec().addNics(Nic.newBuilder().setId("a").addPortForwards(forward(8080, 80)))
        .addNics(Nic.newBuilder().setId("b").addPortForwards(forward(8080, 81).setHostAddress("127.0.0.1"))).build(),
        "nics[1].port_forwards[0].host_port", "forwards tcp 127.0.0.1:8080, as an earlier forward");
  }

  @Test
  @DisplayName("more NICs than the node allows, or more device processes than it allows, are refused")
  void limits() {
    VmSpec.Builder five = spec();
    for (int i = 0; i < 5; i++) {
      five.addNics(Nic.newBuilder().setId("net" + i).setPlacement(NicPlacement.MAIN));
    }
    refused(five.build(), "nics", "this node allows at most 4 per VM");
    NodeLimits two = new NodeLimits(SpecValidator.KNOWN_DRIVERS, 1024, 2, 2, 1);
    VmSpec spec = spec().addNics(Nic.newBuilder().setId("a")).addNics(Nic.newBuilder().setId("b")).build();
    refused(spec, two, "nics", "the VM would run 3 device processes");
    assertThatCode(() -> SpecValidator.validate(spec.toBuilder().setNics(1, Nic.newBuilder().setId("b")
        .setPlacement(NicPlacement.MAIN)).build(), two)).doesNotThrowAnyException();
  }
}
