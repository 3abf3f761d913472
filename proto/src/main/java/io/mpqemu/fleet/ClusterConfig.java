package io.mpqemu.fleet;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * How a service joins the fleet, from a JSON file ({@code --cluster FILE}); see
 * {@code deploy/examples/cluster-*.json}.
 *
 * @param name the cluster name: members of another name never join
 * @param host this host's address on the cluster network; Hazelcast and the event bus bind here only
 * @param hazelcastPort Hazelcast membership (not encrypted in its open-source edition: keep it on the cluster network)
 * @param busPort the event bus (TLS, client certificates required)
 * @param members the Hazelcast members to join, {@code ip:port}; no multicast, no auto-detection
 * @param memberTimeout a member silent this long is removed from the cluster
 * @param mergeDelay how often a split cluster looks for its other half once the network is back
 * @param caFile the cluster CA certificate (PEM)
 * @param certFile this host's certificate (PEM), made by {@code deploy/make-certs.sh}
 * @param keyFile its key (PEM, mode 0600)
 */
public record ClusterConfig(
    String name,
    String host,
    int hazelcastPort,
    int busPort,
    List<String> members,
    Duration memberTimeout,
    Duration mergeDelay,
    Path caFile,
    Path certFile,
    Path keyFile) {

  private static final Pattern NAME = Pattern.compile("^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$");
  private static final Pattern IP = Pattern.compile("^[0-9a-fA-F:.]+$");
  private static final Set<String> KEYS = Set.of("name", "host", "hazelcastPort", "busPort", "members",
      "memberTimeoutSeconds", "mergeDelaySeconds", "tls");

  public ClusterConfig {
    members = List.copyOf(members);
  }

  /** Reads and validates a cluster file; the message names the key to fix. */
  public static ClusterConfig read(Path file) throws IOException {
    JsonObject json;
    try {
      json = new JsonObject(Files.readString(file));
    } catch (io.vertx.core.json.DecodeException e) {
      throw new IllegalArgumentException("cluster file " + file + " is not JSON: " + e.getMessage());
    }
    return fromJson(json, file.toAbsolutePath().getParent()).validated();
  }

  /** Relative TLS paths are taken from {@code base} (the file's directory). */
  static ClusterConfig fromJson(JsonObject json, Path base) {
    for (String key : json.fieldNames()) {
      if (!KEYS.contains(key)) {
        throw new IllegalArgumentException("cluster file: unknown key '" + key + "' (known: " + new java.util.TreeSet<>(KEYS) + ")");
      }
    }
    JsonObject tls = json.getJsonObject("tls");
    if (tls == null) {
      throw new IllegalArgumentException("cluster file: 'tls' is required ({\"ca\": ..., \"cert\": ..., \"key\": ...}):"
          + " the event bus and gRPC between hosts run only under mutual TLS");
    }
    List<String> members = new ArrayList<>();
    for (Object m : json.getJsonArray("members", new JsonArray())) {
      members.add(String.valueOf(m));
    }
    return new ClusterConfig(
        json.getString("name", "mpqemu"),
        json.getString("host", ""),
        json.getInteger("hazelcastPort", 5701),
        json.getInteger("busPort", 5702),
        members,
        Duration.ofSeconds(json.getLong("memberTimeoutSeconds", 15L)),
        Duration.ofSeconds(json.getLong("mergeDelaySeconds", 10L)),
        path(base, tls.getString("ca"), "tls.ca"),
        path(base, tls.getString("cert"), "tls.cert"),
        path(base, tls.getString("key"), "tls.key"));
  }

  private static Path path(Path base, String value, String key) {
    if (value == null || value.isBlank()) {
      throw new IllegalArgumentException("cluster file: '" + key + "' is required (a PEM file)");
    }
    Path p = Path.of(value);
    return p.isAbsolute() || base == null ? p : base.resolve(p);
  }

  public ClusterConfig validated() {
    require(NAME.matcher(name).matches(), "cluster name '" + name + "' must match " + NAME.pattern());
    require(isIpLiteral(host), "'host' must be this host's IP address on the cluster network, not '" + host + "'");
    require(validPort(hazelcastPort) && validPort(busPort) && hazelcastPort != busPort,
        "'hazelcastPort' and 'busPort' must be two different ports in 1..65535");
    require(!members.isEmpty(), "'members' must list at least one member as ip:port (this host may be one)");
    for (String m : members) {
      int colon = m.lastIndexOf(':');
      boolean ok = colon > 0 && isIpLiteral(m.substring(0, colon).replace("[", "").replace("]", ""));
      if (ok) {
        try {
          ok = validPort(Integer.parseInt(m.substring(colon + 1)));
        } catch (NumberFormatException e) {
          ok = false;
        }
      }
      require(ok, "member '" + m + "' must be ip:port, e.g. 10.0.0.1:5701");
    }
    require(memberTimeout.toSeconds() >= 2, "'memberTimeoutSeconds' must be at least 2");
    require(mergeDelay.toSeconds() >= 1, "'mergeDelaySeconds' must be at least 1");
    return this;
  }

  private static boolean validPort(int p) {
    return p > 0 && p < 65536;
  }

  private static boolean isIpLiteral(String s) {
    if (s == null || s.isEmpty() || !IP.matcher(s).matches() || !(s.contains(".") || s.contains(":"))) {
      return false;
    }
    try {
      InetAddress.getByName(s); // a literal: no lookup happens
      return true;
    } catch (IOException e) {
      return false;
    }
  }

  private static void require(boolean ok, String message) {
    if (!ok) {
      throw new IllegalArgumentException("cluster file: " + message);
    }
  }

  /** Loads the certificates the file names. */
  public ClusterTls tls() throws IOException {
    return ClusterTls.load(caFile, certFile, keyFile);
  }
}
