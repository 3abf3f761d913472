package io.mpqemu.agent.net;

import io.vertx.core.json.JsonObject;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.regex.Pattern;

/**
 * The networks one node defines, from its config's {@code "networks"} object:
 * <pre>{@code
 * "networks": {
 *   "default": {"type": "user", "restrict": true, "forwardAddresses": ["127.0.0.1"]},
 *   "lan":     {"type": "bridge", "bridge": "br0"}
 * }}</pre>
 * Every node has {@code default} (user-mode, restricted, forwards on loopback) unless its config redefines
 * it.
 */
public final class NodeNetworks {

  private static final Pattern NAME = Pattern.compile("[a-z][a-z0-9-]{0,30}");
  /** A Linux interface name: at most 15 bytes, no '/' or white space. */
  private static final Pattern IFNAME = Pattern.compile("[A-Za-z0-9_.-]{1,15}");
  private static final Pattern IPV4 = Pattern.compile(
      "(25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)(\\.(25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)){3}");

  private final Map<String, Network> byName;

  private NodeNetworks(Map<String, Network> byName) {
    this.byName = Map.copyOf(byName);
  }

  public static NodeNetworks defaults() {
    return new NodeNetworks(Map.of("default", Network.defaultUser("default")));
  }

  public Optional<Network> get(String name) {
    return Optional.ofNullable(byName.get(name));
  }

  /** Whether any network is a host bridge: only those have taps to count and guests' addresses to learn. */
  public boolean anyBridge() {
    return byName.values().stream().anyMatch(n -> n.kind() == Network.Kind.BRIDGE);
  }

  /** The names, sorted. */
  public List<String> names() {
    return List.copyOf(new TreeMap<>(byName).keySet());
  }

  /** These networks with the ones {@code json} defines added or replaced; a mistake is named in the exception. */
  public NodeNetworks merge(JsonObject json) {
    Map<String, Network> all = new TreeMap<>(byName);
    for (Map.Entry<String, Object> e : json) {
      String name = e.getKey();
      require(NAME.matcher(name).matches(), "network name '" + name + "' must match " + NAME.pattern());
      require(e.getValue() instanceof JsonObject, "network " + name + " must be an object");
      all.put(name, network(name, (JsonObject) e.getValue()));
    }
    return new NodeNetworks(all);
  }

  private static Network network(String name, JsonObject n) {
    String type = n.getString("type", "");
    switch (type) {
      case "user" -> {
        List<String> addresses = new ArrayList<>();
        for (Object a : n.getJsonArray("forwardAddresses", new io.vertx.core.json.JsonArray().add("127.0.0.1"))) {
          require(a instanceof String s && IPV4.matcher(s).matches(), "network " + name
              + ": forwardAddresses must list IPv4 addresses, not " + a);
          addresses.add((String) a);
        }
        return new Network(name, Network.Kind.USER, "", n.getBoolean("restrict", true), addresses);
      }
      case "bridge" -> {
        String bridge = n.getString("bridge", "");
        require(IFNAME.matcher(bridge).matches(), "network " + name + ": bridge must name a host bridge (1 to 15"
            + " letters, digits, '_', '.', '-'), not '" + bridge + "'");
        return new Network(name, Network.Kind.BRIDGE, bridge, false, List.of());
      }
      default -> throw new IllegalArgumentException("network " + name + ": type must be \"user\" or \"bridge\", not '"
          + type + "'");
    }
  }

  private static void require(boolean ok, String message) {
    if (!ok) {
      throw new IllegalArgumentException(message);
    }
  }
}
