package io.mpqemu.fleet;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.mpqemu.testing.ClusterCerts;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class RoleTest {

  @TempDir
  static Path dir;
  static ClusterCerts pki;

  @BeforeAll
  static void certificates() throws Exception {
    pki = ClusterCerts.ca(dir)
        .make("control-plane", "cp-1", "--ip", "10.0.0.1")
        .make("node-agent", "host-a", "--ip", "10.0.0.2", "--dns", "host-a.example")
        .make("client", "alice")
        .make("viewer", "vic");
    FleetCerts.signed(pki, "norole", "DNS:norole,IP:10.0.0.9");
    FleetCerts.signed(pki, "tworoles", "URI:urn:mpqemu:role:client,URI:urn:mpqemu:role:node-agent");
    FleetCerts.signed(pki, "sameroletwice", "URI:urn:mpqemu:role:client,URI:urn:mpqemu:role:client");
    FleetCerts.signed(pki, "unknownrole", "URI:urn:mpqemu:role:admin,URI:urn:mpqemu:role:client");
    FleetCerts.signed(pki, "otherurn", "URI:urn:example:role:admin,URI:urn:mpqemu:role:client");
  }

  @Test
  @DisplayName("make-certs.sh control-plane makes a certificate of role control-plane")
  void controlPlane() throws Exception {
    assertThat(Role.of(pki.cert("cp-1"))).contains(Role.CONTROL_PLANE);
  }

  @Test
  @DisplayName("make-certs.sh node-agent makes a certificate of role node-agent")
  void nodeAgent() throws Exception {
    assertThat(Role.of(pki.cert("host-a"))).contains(Role.NODE_AGENT);
  }

  @Test
  @DisplayName("make-certs.sh client makes a certificate of role client")
  void client() throws Exception {
    assertThat(Role.of(pki.cert("alice"))).contains(Role.CLIENT);
  }

  @Test
  @DisplayName("make-certs.sh viewer makes a certificate of role viewer")
  void viewer() throws Exception {
    assertThat(Role.of(pki.cert("vic"))).contains(Role.VIEWER);
  }

  @Test
  @DisplayName("make-certs.sh viewer writes /O=mpqemu/OU=viewer/CN=NAME, the role URI as its only SAN, client auth only")
  void viewerCertificate() throws Exception {
    X509Certificate vic = pki.cert("vic");
    assertThat(vic.getSubjectX500Principal().getName()).isEqualTo("CN=vic,OU=viewer,O=mpqemu");
    assertThat(vic.getSubjectAlternativeNames()).containsExactly(List.of(6, "urn:mpqemu:role:viewer"));
    assertThat(vic.getExtendedKeyUsage()).containsExactly("1.3.6.1.5.5.7.3.2"); // id-kp-clientAuth
    assertThat(vic.getBasicConstraints()).isEqualTo(-1);
  }

  @Test
  @DisplayName("make-certs.sh viewer refuses --ip and --dns (exit 2) and writes nothing")
  void viewerHasNoHostNames() {
    assertThatThrownBy(() -> pki.make("viewer", "vic2", "--ip", "10.0.0.3")).isInstanceOf(IOException.class)
        .hasMessageContaining("exited 2").hasMessageContaining("--ip/--dns are not valid for viewer certificates");
    assertThatThrownBy(() -> pki.make("viewer", "vic2", "--dns", "vic2.example")).isInstanceOf(IOException.class)
        .hasMessageContaining("exited 2");
    assertThat(pki.crt("vic2")).doesNotExist();
    assertThat(pki.key("vic2")).doesNotExist();
  }

  @Test
  @DisplayName("make-certs.sh viewer keeps an existing certificate unless --force, like every role")
  void viewerForce() throws Exception {
    pki.make("viewer", "vic3");
    byte[] first = Files.readAllBytes(pki.crt("vic3"));
    assertThatThrownBy(() -> pki.make("viewer", "vic3")).isInstanceOf(IOException.class).hasMessageContaining("exited 1")
        .hasMessageContaining("use --force");
    assertThat(Files.readAllBytes(pki.crt("vic3"))).isEqualTo(first);
    pki.make("viewer", "vic3", "--force", "--days", "30");
    assertThat(Files.readAllBytes(pki.crt("vic3"))).isNotEqualTo(first);
    assertThat(Role.of(pki.cert("vic3"))).contains(Role.VIEWER);
  }

  @Test
  @DisplayName("A certificate of the cluster CA without a role URI has no role")
  void noRole() throws Exception {
    assertThat(Role.of(pki.cert("norole"))).isEmpty();
  }

  @Test
  @DisplayName("A certificate naming two different roles has no role: neither is trusted")
  void twoRoles() throws Exception {
    assertThat(Role.of(pki.cert("tworoles"))).isEmpty();
  }

  @Test
  @DisplayName("A certificate naming the same role twice still has that role")
  void sameRoleTwice() throws Exception {
    assertThat(Role.of(pki.cert("sameroletwice"))).contains(Role.CLIENT);
  }

  @Test
  @DisplayName("A certificate naming an unknown mpqemu role has no role, even next to a known one")
  void unknownRole() throws Exception {
    assertThat(Role.of(pki.cert("unknownrole"))).isEmpty();
  }

  @Test
  @DisplayName("URIs of other schemes next to the role URI are ignored")
  void otherUris() throws Exception {
    assertThat(Role.of(pki.cert("otherurn"))).contains(Role.CLIENT);
  }

  @Test
  @DisplayName("Roles print as they are written in the certificate")
  void names() {
    assertThat(Role.CONTROL_PLANE).hasToString("control-plane");
    assertThat(Role.NODE_AGENT).hasToString("node-agent");
    assertThat(Role.CLIENT).hasToString("client");
    assertThat(Role.VIEWER).hasToString("viewer");
  }

  @Test
  @DisplayName("describe() names the certificate's subject and its role for log lines")
  void describe() throws Exception {
    assertThat(Role.describe(pki.cert("host-a"))).isEqualTo("'CN=host-a,OU=node-agent,O=mpqemu' (role node-agent)");
  }

  @Test
  @DisplayName("describe() says when a certificate has no mpqemu role")
  void describeNoRole() throws Exception {
    assertThat(Role.describe(pki.cert("tworoles"))).isEqualTo("'CN=tworoles,O=mpqemu' (no mpqemu role)");
  }
}
