package io.mpqemu.controlplane.nodes;

import static org.assertj.core.api.Assertions.assertThat;

import io.mpqemu.testing.ClusterCerts;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** What a node may announce in a cluster heartbeat, judged against a certificate from make-certs.sh. */
class AnnouncedEndpointTest {

  @TempDir
  static Path dir;

  /** The header a heartbeat of host-b carries: base64 of its certificate's PEM, as the agent's signer sends it. */
  private static String hostB;

  @BeforeAll
  static void certificate() throws Exception {
    ClusterCerts pki = ClusterCerts.ca(dir.resolve("pki")).make("node-agent", "host-b", "--ip", "10.1.2.3", "--ip", "fd00::b",
        "--dns", "b.cluster.example");
    hostB = Base64.getEncoder().encodeToString(Files.readString(pki.crt("host-b"), StandardCharsets.US_ASCII)
        .getBytes(StandardCharsets.US_ASCII));
  }

  @Test
  @DisplayName("a TCP endpoint at a host the certificate names (IP or DNS, any case, a trailing dot) is accepted")
  void namedHosts() {
    for (String endpoint : List.of("tcp:10.1.2.3:7070", "tcp:[fd00::b]:7070", "tcp:[fd00:0:0:0:0:0:0:b]:7070",
        "tcp:host-b:7070", "tcp:B.Cluster.Example.:7070")) {
      assertThat(AnnouncedEndpoint.refusal("host-b", endpoint, hostB)).as(endpoint).isNull();
    }
  }

  @Test
  @DisplayName("a unix: endpoint is refused in a cluster, whatever the certificate")
  void unixRefused() {
    assertThat(AnnouncedEndpoint.refusal("host-b", "unix:/run/mpqemu/control-plane.sock", hostB))
        .isEqualTo("a heartbeat of node host-b announcing 'unix:/run/mpqemu/control-plane.sock': in a cluster a node must"
            + " announce tcp:host:port, a host its certificate names; the control plane never calls a node's unix: endpoint");
  }

  @Test
  @DisplayName("a host the certificate does not name is refused, and the refusal says what it names")
  void otherHostsRefused() {
    for (String endpoint : List.of("tcp:10.1.2.4:7070", "tcp:host-a:7070", "tcp:[fd00::a]:7070", "tcp:x.b.cluster.example:7070",
        "tcp:10.1.2.3.nip.io:7070", "tcp:127.0.0.1:7070")) {
      assertThat(AnnouncedEndpoint.refusal("host-b", endpoint, hostB)).as(endpoint)
          .startsWith("a heartbeat of node host-b announcing '" + endpoint + "': its certificate does not name host ")
          .contains("DNS:host-b", "DNS:b.cluster.example", "IP:10.1.2.3");
    }
  }

  @Test
  @DisplayName("no port, no endpoint, or no readable certificate is refused")
  void malformed() {
    assertThat(AnnouncedEndpoint.refusal("host-b", "tcp:10.1.2.3:0", hostB)).endsWith(": port 0 is no port to call");
    assertThat(AnnouncedEndpoint.refusal("host-b", "10.1.2.3:7070", hostB))
        .endsWith(": not an endpoint (unix:/path or tcp:host:port)");
    assertThat(AnnouncedEndpoint.refusal("host-b", "tcp:10.1.2.3:7070", null)).contains("its certificate cannot be read");
    assertThat(AnnouncedEndpoint.refusal("host-b", "tcp:10.1.2.3:7070", "bm90IGEgY2VydGlmaWNhdGU="))
        .contains("its certificate cannot be read");
  }

  @Test
  @DisplayName("host matching: IPs against IP names only, names against DNS names only, a wildcard for one label, no lookups")
  void covers() {
    List<String> names = List.of("DNS:*.nodes.example", "DNS:host-b", "IP:10.0.0.2", "IP:0:0:0:0:0:0:0:1");
    assertThat(AnnouncedEndpoint.covers(names, "x.nodes.example")).isTrue();
    assertThat(AnnouncedEndpoint.covers(names, "nodes.example")).isFalse();
    assertThat(AnnouncedEndpoint.covers(names, "a.x.nodes.example")).isFalse();
    assertThat(AnnouncedEndpoint.covers(names, "10.0.0.2")).isTrue();
    assertThat(AnnouncedEndpoint.covers(names, "::1")).isTrue();
    assertThat(AnnouncedEndpoint.covers(List.of("DNS:10.0.0.2"), "10.0.0.2")).as("an IP is no DNS name").isFalse();
    assertThat(AnnouncedEndpoint.covers(names, "999.0.0.2")).isFalse();
    assertThat(AnnouncedEndpoint.literal("host-b")).isNull();
    assertThat(AnnouncedEndpoint.literal("999.1.1.1")).isNull();
  }
}
