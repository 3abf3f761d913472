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
 * @param host this host's address on the cluster network; the membership and the event bus bind here only
 * @param membershipPort the membership port (JGroups under mutual TLS): key {@code membershipPort}, or
 *     {@code hazelcastPort}, its name from when the membership was Hazelcast's, which files keep working with
 * @param busPort the event bus (TLS, client certificates required)
 * @param members the members to join, {@code ip:port} of their membership ports; no multicast, no UDP
 * @param memberTimeout a member silent this long is removed from the cluster
 * @param mergeDelay how often a split cluster looks for its other half once the network is back
 * @param caFile the cluster CA certificate (PEM)
 * @param certFile this host's certificate (PEM), made by {@code deploy/make-certs.sh}
 * @param keyFile its key (PEM, mode 0600)
 * @param replayWindow how far a signed bus message's timestamp may be from the control plane's clock,
 *     either way, and how long its nonce is remembered: the hosts' clocks must agree within it
 *     (optional {@code replayWindowSeconds}, default 30; see {@link BusSignatures})
 */
public record ClusterConfig(
    String name,
    String host,
    int membershipPort,
    int busPort,
    List<String> members,
    Duration memberTimeout,
    Duration mergeDelay,
    Path caFile,
    Path certFile,
    Path keyFile,
    Duration replayWindow) {

  private static final Pattern NAME = Pattern.compile("^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$");
  private static final Pattern IPV4 =
      Pattern.compile("^((25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)\\.){3}(25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)$");
  private static final Pattern IPV6 = Pattern.compile("^[0-9a-fA-F:.]+$");
  private static final Set<String> KEYS = Set.of("name", "host", "membershipPort", "hazelcastPort", "busPort", "members",
      "memberTimeoutSeconds", "mergeDelaySeconds", "replayWindowSeconds", "tls");

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
    if (!(json.getValue("tls") instanceof JsonObject tls)) {
      throw new IllegalArgumentException("cluster file: 'tls' is required ({\"ca\": ..., \"cert\": ..., \"key\": ...}):"
          + " the event bus and gRPC between hosts run only under mutual TLS");
    }
    for (String key : tls.fieldNames()) {
      if (!Set.of("ca", "cert", "key").contains(key)) {
        throw new IllegalArgumentException("cluster file: unknown key 'tls." + key + "' (known: ca, cert, key)");
      }
    }
    List<String> members = new ArrayList<>();
    Object list = json.getValue("members", new JsonArray());
    if (!(list instanceof JsonArray array)) {
      throw new IllegalArgumentException("cluster file: 'members' must be a list of \"ip:port\" strings");
    }
    for (Object m : array) {
      if (!(m instanceof String member)) {
        throw new IllegalArgumentException("cluster file: 'members' must be a list of \"ip:port\" strings, not " + m);
      }
      members.add(member);
    }
    return new ClusterConfig(
        string(json, "name", "mpqemu"),
        string(json, "host", ""),
        membershipPort(json),
        (int) whole(json, "busPort", 5702, 65535),
        members,
        Duration.ofSeconds(whole(json, "memberTimeoutSeconds", 15, 3600)),
        Duration.ofSeconds(whole(json, "mergeDelaySeconds", 10, 3600)),
        path(base, string(tls, "ca", null), "tls.ca"),
        path(base, string(tls, "cert", null), "tls.cert"),
        path(base, string(tls, "key", null), "tls.key"),
        Duration.ofSeconds(whole(json, "replayWindowSeconds", BusSignatures.DEFAULT_REPLAY_WINDOW.toSeconds(), 600)));
  }

  /** {@code membershipPort}, or the older name {@code hazelcastPort}; both must then agree. */
  private static int membershipPort(JsonObject json) {
    int port = (int) whole(json, "membershipPort", 5701, 65535);
    if (json.containsKey("hazelcastPort")) {
      int old = (int) whole(json, "hazelcastPort", 5701, 65535);
      if (json.containsKey("membershipPort") && old != port) {
        throw new IllegalArgumentException("cluster file: 'membershipPort' (" + port + ") and its older name"
            + " 'hazelcastPort' (" + old + ") disagree; keep one");
      }
      return old;
    }
    return port;
  }

  private static String string(JsonObject json, String key, String otherwise) {
    Object v = json.getValue(key);
    if (v == null) {
      return otherwise;
    }
    if (!(v instanceof String text)) {
      throw new IllegalArgumentException("cluster file: '" + key + "' must be a string, not " + v);
    }
    return text;
  }

  /** A whole number in 0..max; 5701.9 or 2^32 + 5701 are refused, not truncated. */
  private static long whole(JsonObject json, String key, long otherwise, long max) {
    Object v = json.getValue(key);
    if (v == null) {
      return otherwise;
    }
    if (!(v instanceof Integer || v instanceof Long) || ((Number) v).longValue() < 0 || ((Number) v).longValue() > max) {
      throw new IllegalArgumentException("cluster file: '" + key + "' must be a whole number from 0 to " + max + ", not " + v);
    }
    return ((Number) v).longValue();
  }

  private static Path path(Path base, String value, String key) {
    if (value == null || value.isBlank()) {
      throw new IllegalArgumentException("cluster file: '" + key + "' is required (a PEM file)");
    }
    Path p = Path.of(value);
    return p.isAbsolute() || base == null ? p : base.resolve(p);
  }

  public ClusterConfig validated() {
    require(NAME.matcher(name).matches(), "'name' must match " + NAME.pattern() + ", not '" + name + "'");
    require(isIpLiteral(host) && !anyOrMulticast(host),
        "'host' must be this host's IP address on the cluster network (not a name, 0.0.0.0 or ::), not '" + host + "'");
    require(validPort(membershipPort) && validPort(busPort) && membershipPort != busPort,
        "'membershipPort' and 'busPort' must be two different ports in 1..65535");
    require(!members.isEmpty(), "'members' must list at least one member as ip:port (this host may be one)");
    for (String m : members) {
      int colon = m.lastIndexOf(':');
      String ip = colon > 0 ? m.substring(0, colon) : "";
      boolean bracketed = ip.startsWith("[") && ip.endsWith("]");
      ip = bracketed ? ip.substring(1, ip.length() - 1) : ip;
      // an IPv6 member needs brackets: is 1::2:3 the host 1::2, port 3, or no port at all?
      boolean ok = isIpLiteral(ip) && (bracketed == ip.contains(":"));
      if (ok) {
        try {
          ok = validPort(Integer.parseInt(m.substring(colon + 1)));
        } catch (NumberFormatException e) {
          ok = false;
        }
      }
      require(ok, "member '" + m + "' must be ip:port, e.g. 10.0.0.1:5701 or [fd00::1]:5701");
    }
    require(memberTimeout.toSeconds() >= 2, "'memberTimeoutSeconds' must be at least 2");
    require(mergeDelay.toSeconds() >= 1, "'mergeDelaySeconds' must be at least 1");
    require(replayWindow.toSeconds() >= 5, "'replayWindowSeconds' must be at least 5: a signed bus message must"
        + " reach the control plane within it, and the hosts' clocks must agree within it");
    return this;
  }

  private static boolean validPort(int p) {
    return p > 0 && p < 65536;
  }

  /** A dotted-quad IPv4 address, or IPv6 (with a colon, which the JDK never looks up in DNS). */
  private static boolean isIpLiteral(String s) {
    if (s == null || s.isEmpty()) {
      return false;
    }
    if (!s.contains(":")) {
      return IPV4.matcher(s).matches();
    }
    if (!IPV6.matcher(s).matches()) {
      return false;
    }
    try {
      InetAddress.getByName(s);
      return true;
    } catch (IOException e) {
      return false;
    }
  }

  private static boolean anyOrMulticast(String ip) {
    try {
      InetAddress a = InetAddress.getByName(ip);
      return a.isAnyLocalAddress() || a.isMulticastAddress();
    } catch (IOException e) {
      return true;
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
