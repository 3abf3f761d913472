package io.mpqemu.agent.net;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class NeighbourTableTest {

  @TempDir Path dir;

  @Test
  @DisplayName("complete entries of /proc/net/arp by MAC; incomplete ones and a missing MAC give nothing")
  void parses() throws Exception {
    Path arp = dir.resolve("arp");
    Files.write(arp, List.of(
        "IP address       HW type     Flags       HW address            Mask     Device",
        "10.77.0.3        0x1         0x2         52:54:00:77:00:03     *        br-lan",
        "10.77.0.2        0x1         0x2         52:54:00:77:00:02     *        br-lan",
        "10.77.0.9        0x1         0x0         00:00:00:00:00:00     *        br-lan",
        "10.77.1.2        0x1         0x2         52:54:00:77:00:02     *        br-other"));
    NeighbourTable table = new NeighbourTable(arp);
    assertThat(table.addressesOf("52:54:00:77:00:02")).as("before the first refresh").isEmpty();
    table.refresh();
    assertThat(table.addressesOf("52:54:00:77:00:02")).containsExactly("10.77.0.2", "10.77.1.2");
    assertThat(table.addressesOf("52:54:00:77:00:03")).containsExactly("10.77.0.3");
    assertThat(table.addressesOf("00:00:00:00:00:00")).isEmpty();
    assertThat(table.addressesOf("02:00:00:00:00:01")).isEmpty();
  }
}
