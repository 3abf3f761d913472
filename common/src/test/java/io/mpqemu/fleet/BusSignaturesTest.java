package io.mpqemu.fleet;

import static org.assertj.core.api.Assertions.assertThat;

import io.vertx.core.MultiMap;
import io.vertx.core.eventbus.DeliveryOptions;
import io.vertx.core.json.JsonObject;
import io.mpqemu.testing.ClusterCerts;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Signed heartbeats and events, with certificates made by make-certs.sh. */
class BusSignaturesTest {

  @TempDir
  static Path dir;
  static ClusterCerts pki;
  static ClusterCerts other;
  static String trustAlgorithm;

  @BeforeAll
  static void certificates() throws Exception {
    trustAlgorithm = java.security.Security.getProperty("ssl.TrustManagerFactory.algorithm");
    pki = ClusterCerts.ca(dir.resolve("cluster")).make("control-plane", "cp-1").make("node-agent", "host-a")
        .make("node-agent", "host-b").make("client", "alice");

    other = ClusterCerts.ca(dir.resolve("other")).make("node-agent", "host-a");
  }

  @AfterAll
  static void restoreTrustAlgorithm() {
    java.security.Security.setProperty("ssl.TrustManagerFactory.algorithm", trustAlgorithm == null ? "PKIX" : trustAlgorithm);
  }

  private static MultiMap headers(DeliveryOptions options) {
    return options.getHeaders();
  }

  private static final JsonObject BEAT = new JsonObject().put("nodeId", "host-a").put("endpoint", "tcp:10.0.0.2:7070");
  private static final JsonObject EVENT = new JsonObject().put("vmId", "v1").put("node", "host-a").put("type", "LAUNCHED");

  @Test
  @DisplayName("an agent's signed heartbeat and then its signed events are accepted")
  void accepted() throws Exception {
    BusSignatures.Verifier verifier = new BusSignatures.Verifier(FleetCerts.tls(pki, "cp-1"));
    BusSignatures.Signer a = new BusSignatures.Signer(FleetCerts.tls(pki, "host-a"));
    assertThat(verifier.heartbeat("host-a", "hb", BEAT, headers(a.sign("hb", BEAT, true)))).isNull();
    assertThat(verifier.event("host-a", "ev", EVENT, headers(a.sign("ev", EVENT, false)))).isNull();
  }

  @Test
  @DisplayName("events are refused before the node's first heartbeat, unsigned, signed by another node, tampered with, or moved to another address")
  void eventsRefused() throws Exception {
    BusSignatures.Verifier verifier = new BusSignatures.Verifier(FleetCerts.tls(pki, "cp-1"));
    BusSignatures.Signer a = new BusSignatures.Signer(FleetCerts.tls(pki, "host-a"));
    BusSignatures.Signer b = new BusSignatures.Signer(FleetCerts.tls(pki, "host-b"));
    assertThat(verifier.event("host-a", "ev", EVENT, headers(a.sign("ev", EVENT, false))))
        .isEqualTo("an event of node host-a arrived before any valid heartbeat of that node");
    verifier.heartbeat("host-a", "hb", BEAT, headers(a.sign("hb", BEAT, true)));
    assertThat(verifier.event("host-a", "ev", EVENT, MultiMap.caseInsensitiveMultiMap()))
        .isEqualTo("an event of node host-a, unsigned");
    assertThat(verifier.event("host-a", "ev", EVENT, headers(b.sign("ev", EVENT, false))))
        .isEqualTo("an event of node host-a, not signed by 'host-a'");
    JsonObject tampered = EVENT.copy().put("type", "VM_STOPPED");
    assertThat(verifier.event("host-a", "ev", tampered, headers(a.sign("ev", EVENT, false))))
        .isEqualTo("an event of node host-a, not signed by 'host-a'");
    assertThat(verifier.event("host-a", "ev", EVENT, headers(a.sign("hb", EVENT, false))))
        .isEqualTo("an event of node host-a, not signed by 'host-a'");
  }

  @Test
  @DisplayName("heartbeats are refused without a certificate, from another CA, from a client, or naming another node")
  void heartbeatsRefused() throws Exception {
    BusSignatures.Verifier verifier = new BusSignatures.Verifier(FleetCerts.tls(pki, "cp-1"));
    BusSignatures.Signer b = new BusSignatures.Signer(FleetCerts.tls(pki, "host-b"));
    assertThat(verifier.heartbeat("host-a", "hb", BEAT, headers(b.sign("hb", BEAT, false))))
        .isEqualTo("a heartbeat of node host-a carries no certificate");
    BusSignatures.Signer foreign = new BusSignatures.Signer(FleetCerts.tls(other, "host-a"));
    assertThat(verifier.heartbeat("host-a", "hb", BEAT, headers(foreign.sign("hb", BEAT, true))))
        .startsWith("a heartbeat of node host-a carries a certificate this cluster does not trust");
    BusSignatures.Signer client = new BusSignatures.Signer(FleetCerts.tls(pki, "alice"));
    assertThat(verifier.heartbeat("host-a", "hb", BEAT, headers(client.sign("hb", BEAT, true))))
        .startsWith("a heartbeat of node host-a carries a certificate this cluster does not trust")
        .contains("only node-agent may connect here");
    assertThat(verifier.heartbeat("host-a", "hb", BEAT, headers(b.sign("hb", BEAT, true))))
        .isEqualTo("a heartbeat of node host-a is signed by 'host-b'");
    // none of these taught the verifier a certificate for host-a
    assertThat(verifier.event("host-a", "ev", EVENT, headers(b.sign("ev", EVENT, false))))
        .isEqualTo("an event of node host-a arrived before any valid heartbeat of that node");
  }
}
