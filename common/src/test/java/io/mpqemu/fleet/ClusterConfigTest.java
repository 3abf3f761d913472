package io.mpqemu.fleet;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.params.provider.Arguments.arguments;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.function.Consumer;
import java.util.stream.Stream;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class ClusterConfigTest {

  @TempDir
  Path dir;

  /** deploy/examples/cluster-control-plane.json, with the CA and certificate next to the file. */
  private static JsonObject valid() {
    return new JsonObject()
        .put("name", "prod")
        .put("host", "10.0.0.1")
        .put("hazelcastPort", 5701)
        .put("busPort", 5702)
        .put("members", new JsonArray().add("10.0.0.1:5701").add("10.0.0.2:5701").add("[fd00::3]:5701"))
        .put("memberTimeoutSeconds", 20)
        .put("mergeDelaySeconds", 5)
        .put("tls", new JsonObject().put("ca", "ca.crt").put("cert", "tls/cp-1.crt").put("key", "/etc/mpqemu/tls/cp-1.key"));
  }

  private Path write(String text) throws Exception {
    Path file = Files.createDirectories(dir.resolve("etc")).resolve("cluster.json");
    Files.writeString(file, text);
    return file;
  }

  private ClusterConfig read(Consumer<JsonObject> change) throws Exception {
    JsonObject json = valid();
    change.accept(json);
    return ClusterConfig.read(write(json.encodePrettily()));
  }

  @Test
  @DisplayName("A valid cluster file is read as written; relative TLS paths are taken from the file's directory")
  void validFile() throws Exception {
    ClusterConfig c = read(json -> {});
    assertThat(c.name()).isEqualTo("prod");
    assertThat(c.host()).isEqualTo("10.0.0.1");
    assertThat(c.membershipPort()).isEqualTo(5701);
    assertThat(c.busPort()).isEqualTo(5702);
    assertThat(c.members()).containsExactly("10.0.0.1:5701", "10.0.0.2:5701", "[fd00::3]:5701");
    assertThat(c.memberTimeout()).isEqualTo(Duration.ofSeconds(20));
    assertThat(c.mergeDelay()).isEqualTo(Duration.ofSeconds(5));
    Path etc = dir.resolve("etc").toAbsolutePath();
    assertThat(c.caFile()).isEqualTo(etc.resolve("ca.crt"));
    assertThat(c.certFile()).isEqualTo(etc.resolve("tls/cp-1.crt"));
    assertThat(c.keyFile()).isEqualTo(Path.of("/etc/mpqemu/tls/cp-1.key"));
  }

  @Test
  @DisplayName("the membership port is 'membershipPort'; files that call it 'hazelcastPort' keep working, both must agree")
  void membershipPortNames() throws Exception {
    assertThat(read(json -> json.remove("hazelcastPort")).membershipPort()).isEqualTo(5701);
    ClusterConfig renamed = read(json -> {
      json.remove("hazelcastPort");
      json.put("membershipPort", 6701);
    });
    assertThat(renamed.membershipPort()).isEqualTo(6701);
    assertThat(read(json -> json.put("hazelcastPort", 6801)).membershipPort()).isEqualTo(6801);
    assertThatThrownBy(() -> read(json -> {
      json.put("hazelcastPort", 6801);
      json.put("membershipPort", 6701);
    })).hasMessageContaining("'membershipPort' (6701) and its older name 'hazelcastPort' (6801) disagree");
  }

  @Test
  @DisplayName("Optional keys take their documented defaults")
  void defaults() throws Exception {
    ClusterConfig c = read(json -> {
      for (String key : new String[] {"name", "hazelcastPort", "busPort", "memberTimeoutSeconds", "mergeDelaySeconds"}) {
        json.remove(key);
      }
    });
    assertThat(c.name()).isEqualTo("mpqemu");
    assertThat(c.membershipPort()).isEqualTo(5701);
    assertThat(c.busPort()).isEqualTo(5702);
    assertThat(c.memberTimeout()).isEqualTo(Duration.ofSeconds(15));
    assertThat(c.mergeDelay()).isEqualTo(Duration.ofSeconds(10));
    assertThat(c.replayWindow()).as("a file written before replayWindowSeconds existed").isEqualTo(Duration.ofSeconds(30));
  }

  @Test
  @DisplayName("replayWindowSeconds sets the window of signed bus messages")
  void replayWindow() throws Exception {
    assertThat(read(json -> json.put("replayWindowSeconds", 90)).replayWindow()).isEqualTo(Duration.ofSeconds(90));
  }

  @Test
  @DisplayName("An IPv6 host address is accepted")
  void ipv6Host() throws Exception {
    assertThat(read(json -> json.put("host", "fd00::1")).host()).isEqualTo("fd00::1");
  }

  static Stream<Arguments> invalid() {
    return Stream.of(
        arguments("no tls", (Consumer<JsonObject>) j -> j.remove("tls"), "'tls' is required"),
        arguments("no tls.key", (Consumer<JsonObject>) j -> j.getJsonObject("tls").remove("key"), "'tls.key' is required"),
        arguments("an unknown key", (Consumer<JsonObject>) j -> j.put("bus_port", 5702), "unknown key 'bus_port'"),
        arguments("a host name as host", (Consumer<JsonObject>) j -> j.put("host", "myhost"), "'host'"),
        arguments("no host", (Consumer<JsonObject>) j -> j.remove("host"), "'host'"),
        arguments("a member without port", (Consumer<JsonObject>) j -> j.put("members", new JsonArray().add("10.0.0.2")),
            "member '10.0.0.2' must be ip:port"),
        arguments("a member with a bad port", (Consumer<JsonObject>) j -> j.put("members", new JsonArray().add("10.0.0.2:70000")),
            "member '10.0.0.2:70000' must be ip:port"),
        arguments("a member host name", (Consumer<JsonObject>) j -> j.put("members", new JsonArray().add("node2:5701")),
            "member 'node2:5701' must be ip:port"),
        arguments("port 0", (Consumer<JsonObject>) j -> j.put("hazelcastPort", 0), "'membershipPort' and 'busPort'"),
        arguments("port 65536", (Consumer<JsonObject>) j -> j.put("busPort", 65536), "'busPort' must be a whole number from 0 to 65535"),
        arguments("one port for both", (Consumer<JsonObject>) j -> j.put("busPort", 5701), "'membershipPort' and 'busPort'"),
        arguments("no members", (Consumer<JsonObject>) j -> j.put("members", new JsonArray()), "'members'"),
        arguments("an upper-case cluster name", (Consumer<JsonObject>) j -> j.put("name", "Prod"), "'name' must match"),
        arguments("a cluster name with a space", (Consumer<JsonObject>) j -> j.put("name", "my fleet"), "not 'my fleet'"),
        arguments("a one-second member timeout", (Consumer<JsonObject>) j -> j.put("memberTimeoutSeconds", 1), "'memberTimeoutSeconds'"),
        arguments("no merge delay", (Consumer<JsonObject>) j -> j.put("mergeDelaySeconds", 0), "'mergeDelaySeconds'"),
        arguments("a replay window shorter than delivery", (Consumer<JsonObject>) j -> j.put("replayWindowSeconds", 2),
            "'replayWindowSeconds' must be at least 5"),
        arguments("a replay window of hours", (Consumer<JsonObject>) j -> j.put("replayWindowSeconds", 3600),
            "'replayWindowSeconds' must be a whole number from 0 to 600"),
        arguments("a port as a string", (Consumer<JsonObject>) j -> j.put("hazelcastPort", "5701"),
            "'hazelcastPort' must be a whole number"),
        arguments("a port past 2^32", (Consumer<JsonObject>) j -> j.put("hazelcastPort", 4294972997L),
            "'hazelcastPort' must be a whole number"),
        arguments("a fractional port", (Consumer<JsonObject>) j -> j.put("busPort", 5702.9), "'busPort' must be a whole number"),
        arguments("members as a string", (Consumer<JsonObject>) j -> j.put("members", "10.0.0.1:5701"), "'members' must be a list"),
        arguments("a member that is a number", (Consumer<JsonObject>) j -> j.put("members", new JsonArray().add(5701)),
            "'members' must be a list"),
        arguments("tls as a string", (Consumer<JsonObject>) j -> j.put("tls", "x"), "'tls' is required"),
        arguments("an unknown tls key", (Consumer<JsonObject>) j -> j.getJsonObject("tls").put("password", "x"),
            "unknown key 'tls.password'"),
        arguments("a host as a number", (Consumer<JsonObject>) j -> j.put("host", 10), "'host' must be a string"),
        arguments("0.0.0.0 as host", (Consumer<JsonObject>) j -> j.put("host", "0.0.0.0"), "'host'"),
        arguments(":: as host", (Consumer<JsonObject>) j -> j.put("host", "::"), "'host'"),
        arguments("a three-part IPv4 host", (Consumer<JsonObject>) j -> j.put("host", "1.2.3"), "'host'"),
        arguments("a hex-letter name as host", (Consumer<JsonObject>) j -> j.put("host", "cafe.de"), "'host'"),
        arguments("an IPv6 member without brackets", (Consumer<JsonObject>) j -> j.put("members", new JsonArray().add("1::2:3")),
            "member '1::2:3' must be ip:port"));
  }

  @Test
  @DisplayName("An IPv6 member in brackets is accepted")
  void ipv6Member() throws Exception {
    assertThat(read(json -> json.put("members", new JsonArray().add("[fd00::2]:5701"))).members()).containsExactly("[fd00::2]:5701");
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("invalid")
  @DisplayName("An invalid cluster file is refused with a message that names the key to fix")
  void refused(String what, Consumer<JsonObject> change, String message) {
    assertThatThrownBy(() -> read(change))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageStartingWith("cluster file")
        .hasMessageContaining(message);
  }

  @Test
  @DisplayName("A file that is not JSON is refused with its path")
  void notJson() throws Exception {
    Path file = write("{ \"name\": \"prod\", ");
    assertThatThrownBy(() -> ClusterConfig.read(file))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining(file.toString())
        .hasMessageContaining("is not JSON");
  }

  @Test
  @DisplayName("the membership joins only the listed members over TLS TCP on this host's address: no UDP, no multicast, no extra port")
  void membershipStack() throws Exception {
    ClusterConfig c = read(json -> {});
    javax.net.ssl.SSLContext ssl = javax.net.ssl.SSLContext.getInstance("TLS");
    ssl.init(null, null, null);
    try (org.jgroups.JChannel ch = Membership.channel(c, ssl)) {
      var stack = ch.getProtocolStack();
      assertThat(stack.getProtocols().stream().map(p -> p.getClass().getSimpleName()).toList()).as("top to bottom")
          .containsExactly("FRAG4", "MFC", "UFC", "PatientGms", "STABLE", "UNICAST3", "NAKACK2", "VERIFY_SUSPECT2",
              "FD_ALL3", "MERGE3", "TCPPING", "TCP");
      org.jgroups.protocols.pbcast.GMS gms = stack.findProtocol(org.jgroups.protocols.pbcast.GMS.class);
      assertThat(gms.getId()).as("GMS's protocol id, so its headers are GMS's to every member")
          .isEqualTo(org.jgroups.conf.ClassConfigurator.getProtocolId(org.jgroups.protocols.pbcast.GMS.class)).isPositive();
      assertThat(gms.getMaxJoinAttempts() * gms.getJoinTimeout()).as("a joiner waits for a coordinator, ms")
          .isGreaterThanOrEqualTo(2 * 20_000);
      org.jgroups.protocols.TCP tcp = (org.jgroups.protocols.TCP) stack.getTransport();
      assertThat(tcp.getBindAddress().getHostAddress()).isEqualTo("10.0.0.1");
      assertThat(tcp.getBindPort()).isEqualTo(5701);
      assertThat(tcp.getPortRange()).as("no next port").isZero();
      assertThat(tcp.getSocketFactory()).isInstanceOf(MembershipSockets.class);
      assertThat(tcp.getDiagnosticsHandler().isEnabled()).as("diagnostics (UDP)").isFalse();
      org.jgroups.protocols.TCPPING ping = stack.findProtocol(org.jgroups.protocols.TCPPING.class);
      assertThat(ping.getInitialHosts().stream().map(a -> a.toString()).toList())
          .containsExactly("10.0.0.1:5701", "10.0.0.2:5701", "fd00:0:0:0:0:0:0:3:5701");
      org.jgroups.protocols.FD_ALL3 fd = stack.findProtocol(org.jgroups.protocols.FD_ALL3.class);
      org.jgroups.protocols.VERIFY_SUSPECT2 verify = stack.findProtocol(org.jgroups.protocols.VERIFY_SUSPECT2.class);
      assertThat(fd.getTimeout() + verify.getTimeout()).as("silence before removal, ms").isEqualTo(20_000);
      org.jgroups.protocols.MERGE3 merge = stack.findProtocol(org.jgroups.protocols.MERGE3.class);
      assertThat(merge.getMaxInterval()).isEqualTo(5000);
      assertThatThrownBy(() -> tcp.getSocketFactory().createDatagramSocket("x")).hasMessageContaining("TLS TCP only");
    }
  }
}
