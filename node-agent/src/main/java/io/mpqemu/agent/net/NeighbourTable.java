package io.mpqemu.agent.net;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

/**
 * The node's IPv4 neighbour table ({@code /proc/net/arp}), by MAC: how the agent learns the address a guest
 * on a bridge has (from its DHCP server or its own configuration) without asking the guest. Refreshed by a
 * blocking {@link #refresh} off the event loop; read anywhere. Only complete entries count; a guest the
 * node has not exchanged a packet with is not in it.
 */
public final class NeighbourTable {

  private final Path file;
  private volatile Map<String, List<String>> byMac = Map.of();

  public NeighbourTable() {
    this(Path.of("/proc/net/arp"));
  }

  NeighbourTable(Path file) {
    this.file = file;
  }

  /** Reads the table again. Blocking. */
  public void refresh() throws IOException {
    byMac = parse(Files.readAllLines(file));
  }

  /** The IPv4 addresses seen with {@code mac} (lowercase), sorted; none when unknown. */
  public List<String> addressesOf(String mac) {
    return byMac.getOrDefault(mac.toLowerCase(Locale.ROOT), List.of());
  }

  /** "IP address  HW type  Flags  HW address  Mask  Device" lines after a header; flag 0x2 is a complete entry. */
  static Map<String, List<String>> parse(List<String> lines) {
    Map<String, List<String>> table = new TreeMap<>();
    for (String line : lines.subList(Math.min(1, lines.size()), lines.size())) {
      String[] f = line.trim().split("\\s+");
      if (f.length < 6 || (Integer.decode(f[2]) & 0x2) == 0) {
        continue;
      }
      table.computeIfAbsent(f[3].toLowerCase(Locale.ROOT), m -> new ArrayList<>()).add(f[0]);
    }
    table.values().forEach(l -> l.sort(null));
    return Map.copyOf(table);
  }
}
