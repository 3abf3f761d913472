package io.mpqemu.fleet;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.vertx.core.eventbus.EventBusOptions;
import io.vertx.core.http.ClientAuth;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpServerOptions;
import java.io.IOException;
import java.nio.file.Files;
import io.mpqemu.testing.ClusterCerts;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.EnumSet;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ClusterTlsTest {

  @TempDir
  static Path dir;
  static ClusterCerts pki;
  static ClusterCerts otherPki;
  static String trustAlgorithm;

  @BeforeAll
  static void certificates() throws Exception {
    trustAlgorithm = java.security.Security.getProperty("ssl.TrustManagerFactory.algorithm");
    pki = ClusterCerts.ca(dir.resolve("cluster"))
        .make("control-plane", "cp-1", "--ip", "127.0.0.1")
        .make("node-agent", "host-a")
        .make("client", "alice");
    FleetCerts.signed(pki, "norole", "DNS:norole");
    FleetCerts.expired(pki, "old", "client");
    otherPki = ClusterCerts.ca(dir.resolve("other")).make("client", "mallory");
  }

  @AfterAll
  static void restoreTrustAlgorithm() {
    java.security.Security.setProperty("ssl.TrustManagerFactory.algorithm", trustAlgorithm == null ? "PKIX" : trustAlgorithm);
  }

  @Test
  @DisplayName("A certificate made by make-certs.sh loads and reports its role and subject")
  void loads() throws Exception {
    assertThat(FleetCerts.tls(pki, "cp-1").role()).isEqualTo(Role.CONTROL_PLANE);
    assertThat(FleetCerts.tls(pki, "host-a").role()).isEqualTo(Role.NODE_AGENT);
    ClusterTls alice = FleetCerts.tls(pki, "alice");
    assertThat(alice.role()).isEqualTo(Role.CLIENT);
    assertThat(alice.subject()).isEqualTo("CN=alice,OU=client,O=mpqemu");
  }

  @Test
  @DisplayName("A missing CA, certificate or key file is named in the message")
  void missingFiles() {
    Path nowhere = dir.resolve("nowhere.pem");
    assertThatThrownBy(() -> ClusterTls.load(nowhere, pki.crt("alice"), pki.key("alice")))
        .isInstanceOf(IOException.class).hasMessage("CA certificate file " + nowhere + " does not exist or cannot be read");
    assertThatThrownBy(() -> ClusterTls.load(pki.ca(), nowhere, pki.key("alice")))
        .isInstanceOf(IOException.class).hasMessage("certificate file " + nowhere + " does not exist or cannot be read");
    assertThatThrownBy(() -> ClusterTls.load(pki.ca(), pki.crt("alice"), nowhere))
        .isInstanceOf(IOException.class).hasMessage("key file " + nowhere + " does not exist or cannot be read");
  }

  @Test
  @DisplayName("A file that is not a certificate is refused as such")
  void notACertificate() {
    assertThatThrownBy(() -> ClusterTls.load(pki.key("alice"), pki.crt("alice"), pki.key("alice")))
        .isInstanceOf(IOException.class).hasMessageContaining("CA certificate file " + pki.key("alice"));
  }

  @Test
  @DisplayName("A key other users can read is refused, and the message says to chmod 600 it")
  void keyReadableByOthers() throws Exception {
    Path key = Files.copy(pki.key("alice"), dir.resolve("alice-644.key"));
    Files.setPosixFilePermissions(key, PosixFilePermissions.fromString("rw-r--r--"));
    assertThatThrownBy(() -> ClusterTls.load(pki.ca(), pki.crt("alice"), key))
        .isInstanceOf(IOException.class).hasMessageContaining("can be read or written by other users").hasMessageEndingWith("chmod 600 " + key);
    Files.setPosixFilePermissions(key, PosixFilePermissions.fromString("rw-r-----"));
    assertThatThrownBy(() -> ClusterTls.load(pki.ca(), pki.crt("alice"), key)).hasMessageContaining("chmod 600");
    Files.setPosixFilePermissions(key, PosixFilePermissions.fromString("rw-----w-"));
    assertThatThrownBy(() -> ClusterTls.load(pki.ca(), pki.crt("alice"), key)).hasMessageContaining("chmod 600");
    Files.setPosixFilePermissions(key, PosixFilePermissions.fromString("r--------"));
    assertThat(ClusterTls.load(pki.ca(), pki.crt("alice"), key).role()).isEqualTo(Role.CLIENT);
  }

  @Test
  @DisplayName("A key that is not the certificate's is refused at load, naming both files")
  void keyOfAnotherCertificate() {
    assertThatThrownBy(() -> ClusterTls.load(pki.ca(), pki.crt("alice"), pki.key("cp-1")))
        .isInstanceOf(IOException.class)
        .hasMessage("key file " + pki.key("cp-1") + " does not belong to certificate " + pki.crt("alice"));
  }

  @Test
  @DisplayName("A key reached through a symbolic link (as Kubernetes mounts secrets) is judged by the file it points to")
  void keyThroughLink() throws Exception {
    Path link = Files.createSymbolicLink(dir.resolve("alice-link.key"), pki.key("alice"));
    assertThat(ClusterTls.load(pki.ca(), pki.crt("alice"), link).role()).isEqualTo(Role.CLIENT);
    Path open = Files.copy(pki.key("alice"), dir.resolve("alice-open.key"));
    Files.setPosixFilePermissions(open, PosixFilePermissions.fromString("rw-r--r--"));
    Path openLink = Files.createSymbolicLink(dir.resolve("alice-open-link.key"), open);
    assertThatThrownBy(() -> ClusterTls.load(pki.ca(), pki.crt("alice"), openLink)).hasMessageContaining("chmod 600");
  }

  @Test
  @DisplayName("A certificate signed by another CA is refused: 'is not signed by the CA in' the CA file")
  void otherCa() {
    assertThatThrownBy(() -> ClusterTls.load(pki.ca(), otherPki.crt("mallory"), otherPki.key("mallory")))
        .isInstanceOf(IOException.class)
        .hasMessage("certificate " + otherPki.crt("mallory") + " (CN=mallory,OU=client,O=mpqemu) is not signed by the CA in " + pki.ca());
  }

  @Test
  @DisplayName("A certificate of the cluster CA with no role is refused with a hint to use make-certs.sh")
  void noRole() {
    assertThatThrownBy(() -> FleetCerts.tls(pki, "norole"))
        .isInstanceOf(IOException.class)
        .hasMessageContaining("names no mpqemu role")
        .hasMessageContaining("urn:mpqemu:role:<role>")
        .hasMessageContaining("deploy/make-certs.sh");
  }

  @Test
  @DisplayName("An expired certificate of the cluster CA is refused as not valid now")
  void expired() {
    assertThatThrownBy(() -> FleetCerts.tls(pki, "old"))
        .isInstanceOf(IOException.class)
        .hasMessageStartingWith("certificate " + pki.crt("old") + " is not valid now");
  }

  @Test
  @DisplayName("Servers require a client certificate, clients verify the host name, and neither trusts all")
  void endpointOptions() throws Exception {
    ClusterTls tls = FleetCerts.tls(pki, "cp-1");
    HttpServerOptions server = tls.server("test", EnumSet.of(Role.CLIENT));
    assertThat(server.isSsl()).isTrue();
    assertThat(server.getClientAuth()).isEqualTo(ClientAuth.REQUIRED);
    HttpClientOptions client = tls.client("test", EnumSet.of(Role.NODE_AGENT));
    assertThat(client.isSsl()).isTrue();
    assertThat(client.isVerifyHost()).isTrue();
    assertThat(client.isTrustAll()).isFalse();
    EventBusOptions bus = tls.eventBus(new EventBusOptions());
    assertThat(bus.isSsl()).isTrue();
    assertThat(bus.getClientAuth()).isEqualTo(ClientAuth.REQUIRED);
    assertThat(bus.isTrustAll()).isFalse();
  }

  @Test
  @DisplayName("On the event bus a control plane talks to control planes and agents, an agent to control planes only")
  void busPeers() {
    assertThat(ClusterTls.busPeers(Role.CONTROL_PLANE)).containsExactlyInAnyOrder(Role.CONTROL_PLANE, Role.NODE_AGENT);
    assertThat(ClusterTls.busPeers(Role.NODE_AGENT)).containsExactly(Role.CONTROL_PLANE);
  }
}
