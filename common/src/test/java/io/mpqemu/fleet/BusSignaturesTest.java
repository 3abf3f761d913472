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

  /** The log line of a refusal; null when the message passed. */
  private static String why(BusSignatures.Refusal refusal) {
    return refusal == null ? null : refusal.message();
  }

  private static final JsonObject BEAT = new JsonObject().put("nodeId", "host-a").put("endpoint", "tcp:10.0.0.2:7070");
  private static final JsonObject EVENT = new JsonObject().put("vmId", "v1").put("node", "host-a").put("type", "LAUNCHED");

  @Test
  @DisplayName("an agent's signed heartbeat and then its signed events are accepted")
  void accepted() throws Exception {
    BusSignatures.Verifier verifier = new BusSignatures.Verifier(FleetCerts.tls(pki, "cp-1"));
    BusSignatures.Signer a = new BusSignatures.Signer(FleetCerts.tls(pki, "host-a"));
    assertThat(why(verifier.heartbeat("host-a", "hb", BEAT, headers(a.sign("hb", BEAT, true))))).isNull();
    assertThat(why(verifier.event("host-a", "ev", EVENT, headers(a.sign("ev", EVENT, false))))).isNull();
  }

  @Test
  @DisplayName("events are refused before the node's first heartbeat, unsigned, signed by another node, tampered with, or moved to another address")
  void eventsRefused() throws Exception {
    BusSignatures.Verifier verifier = new BusSignatures.Verifier(FleetCerts.tls(pki, "cp-1"));
    BusSignatures.Signer a = new BusSignatures.Signer(FleetCerts.tls(pki, "host-a"));
    BusSignatures.Signer b = new BusSignatures.Signer(FleetCerts.tls(pki, "host-b"));
    assertThat(why(verifier.event("host-a", "ev", EVENT, headers(a.sign("ev", EVENT, false)))))
        .isEqualTo("an event of node host-a arrived before any valid heartbeat of that node");
    verifier.heartbeat("host-a", "hb", BEAT, headers(a.sign("hb", BEAT, true)));
    assertThat(why(verifier.event("host-a", "ev", EVENT, MultiMap.caseInsensitiveMultiMap())))
        .isEqualTo("an event of node host-a, unsigned");
    assertThat(why(verifier.event("host-a", "ev", EVENT, headers(b.sign("ev", EVENT, false)))))
        .isEqualTo("an event of node host-a, not signed by 'host-a'");
    JsonObject tampered = EVENT.copy().put("type", "VM_STOPPED");
    assertThat(why(verifier.event("host-a", "ev", tampered, headers(a.sign("ev", EVENT, false)))))
        .isEqualTo("an event of node host-a, not signed by 'host-a'");
    assertThat(why(verifier.event("host-a", "ev", EVENT, headers(a.sign("hb", EVENT, false)))))
        .isEqualTo("an event of node host-a, not signed by 'host-a'");
  }

  @Test
  @DisplayName("heartbeats are refused without a certificate, from another CA, from a client, or naming another node")
  void heartbeatsRefused() throws Exception {
    BusSignatures.Verifier verifier = new BusSignatures.Verifier(FleetCerts.tls(pki, "cp-1"));
    BusSignatures.Signer b = new BusSignatures.Signer(FleetCerts.tls(pki, "host-b"));
    assertThat(why(verifier.heartbeat("host-a", "hb", BEAT, headers(b.sign("hb", BEAT, false)))))
        .isEqualTo("a heartbeat of node host-a carries no certificate");
    BusSignatures.Signer foreign = new BusSignatures.Signer(FleetCerts.tls(other, "host-a"));
    assertThat(why(verifier.heartbeat("host-a", "hb", BEAT, headers(foreign.sign("hb", BEAT, true)))))
        .startsWith("a heartbeat of node host-a carries a certificate this cluster does not trust");
    BusSignatures.Signer client = new BusSignatures.Signer(FleetCerts.tls(pki, "alice"));
    assertThat(why(verifier.heartbeat("host-a", "hb", BEAT, headers(client.sign("hb", BEAT, true)))))
        .startsWith("a heartbeat of node host-a carries a certificate this cluster does not trust")
        .contains("only node-agent may connect here");
    assertThat(why(verifier.heartbeat("host-a", "hb", BEAT, headers(b.sign("hb", BEAT, true)))))
        .isEqualTo("a heartbeat of node host-a is signed by 'host-b'");
    // none of these taught the verifier a certificate for host-a
    assertThat(why(verifier.event("host-a", "ev", EVENT, headers(b.sign("ev", EVENT, false)))))
        .isEqualTo("an event of node host-a arrived before any valid heartbeat of that node");
  }

  // ------------------------------------------------------------------ replays

  /** A clock the test moves; the signer's and the verifier's may differ, as two hosts' do. */
  static final class TestClock extends java.time.Clock {
    private final java.util.concurrent.atomic.AtomicLong millis;

    TestClock(long millis) {
      this.millis = new java.util.concurrent.atomic.AtomicLong(millis);
    }

    void advance(java.time.Duration d) {
      millis.addAndGet(d.toMillis());
    }

    void set(long value) {
      millis.set(value);
    }

    @Override
    public long millis() {
      return millis.get();
    }

    @Override
    public java.time.Instant instant() {
      return java.time.Instant.ofEpochMilli(millis());
    }

    @Override
    public java.time.ZoneId getZone() {
      return java.time.ZoneOffset.UTC;
    }

    @Override
    public java.time.Clock withZone(java.time.ZoneId zone) {
      return this;
    }
  }

  private static final long T0 = 1_800_000_000_000L;
  private static final java.time.Duration WINDOW = java.time.Duration.ofSeconds(30);

  /** A verifier on {@code clock} that already knows host-a from a heartbeat. */
  private static BusSignatures.Verifier knowingHostA(TestClock clock, int maxNonces) throws Exception {
    BusSignatures.Verifier verifier = new BusSignatures.Verifier(FleetCerts.tls(pki, "cp-1"), WINDOW, maxNonces, clock);
    BusSignatures.Signer a = new BusSignatures.Signer(FleetCerts.tls(pki, "host-a"), clock);
    assertThat(why(verifier.heartbeat("host-a", "hb", BEAT, headers(a.sign("hb", BEAT, true))))).isNull();
    return verifier;
  }

  private static BusSignatures.Reason reason(BusSignatures.Refusal refusal) {
    return refusal == null ? null : refusal.reason();
  }

  @Test
  @DisplayName("a signed message carries a timestamp and a nonce; a fresh one passes, the same one again is dropped as replayed")
  void replayed() throws Exception {
    TestClock clock = new TestClock(T0);
    BusSignatures.Verifier verifier = new BusSignatures.Verifier(FleetCerts.tls(pki, "cp-1"), WINDOW, clock);
    BusSignatures.Signer a = new BusSignatures.Signer(FleetCerts.tls(pki, "host-a"), clock);
    MultiMap beat = headers(a.sign("hb", BEAT, true));
    assertThat(beat.get(BusSignatures.TIMESTAMP)).isEqualTo(Long.toString(T0));
    assertThat(java.util.Base64.getDecoder().decode(beat.get(BusSignatures.NONCE))).hasSize(16);
    assertThat(why(verifier.heartbeat("host-a", "hb", BEAT, beat))).isNull();
    MultiMap event = headers(a.sign("ev", EVENT, false));
    assertThat(event.get(BusSignatures.NONCE)).as("each message a nonce of its own").isNotEqualTo(beat.get(BusSignatures.NONCE));
    assertThat(why(verifier.event("host-a", "ev", EVENT, event))).isNull();

    clock.advance(java.time.Duration.ofSeconds(5));
    BusSignatures.Refusal beatAgain = verifier.heartbeat("host-a", "hb", BEAT, beat);
    assertThat(reason(beatAgain)).isEqualTo(BusSignatures.Reason.REPLAYED);
    assertThat(why(beatAgain)).isEqualTo("a heartbeat of node host-a, replayed: its nonce was seen within the 30 s replay window");
    BusSignatures.Refusal eventAgain = verifier.event("host-a", "ev", EVENT, event);
    assertThat(reason(eventAgain)).isEqualTo(BusSignatures.Reason.REPLAYED);
    assertThat(why(eventAgain)).isEqualTo("an event of node host-a, replayed: its nonce was seen within the 30 s replay window");
    assertThat(reason(verifier.event("host-a", "ev", EVENT, event))).as("and again").isEqualTo(BusSignatures.Reason.REPLAYED);
    // the same body signed again is a new message, with a new nonce
    assertThat(why(verifier.event("host-a", "ev", EVENT, headers(a.sign("ev", EVENT, false))))).isNull();
    assertThat(reason(verifier.heartbeat("host-a", "hb", BEAT, headers(a.sign("hb", BEAT, true))))).isNull();
  }

  @Test
  @DisplayName("a message signed 31 s in the past or in the future is dropped as stale; 29 s either way passes")
  void stale() throws Exception {
    TestClock cp = new TestClock(T0);
    BusSignatures.Verifier verifier = knowingHostA(cp, 100);
    TestClock agent = new TestClock(T0 - 31_000);
    BusSignatures.Signer a = new BusSignatures.Signer(FleetCerts.tls(pki, "host-a"), agent);
    BusSignatures.Refusal old = verifier.event("host-a", "ev", EVENT, headers(a.sign("ev", EVENT, false)));
    assertThat(reason(old)).isEqualTo(BusSignatures.Reason.STALE);
    assertThat(why(old)).isEqualTo("an event of node host-a, stale: signed 31 s in the past, outside the 30 s replay window"
        + " (are the hosts' clocks synchronized? NTP, chrony)");
    assertThat(reason(verifier.heartbeat("host-a", "hb", BEAT, headers(a.sign("hb", BEAT, true)))))
        .isEqualTo(BusSignatures.Reason.STALE);

    agent.set(T0 + 31_000);
    BusSignatures.Refusal future = verifier.heartbeat("host-a", "hb", BEAT, headers(a.sign("hb", BEAT, true)));
    assertThat(reason(future)).isEqualTo(BusSignatures.Reason.STALE);
    assertThat(why(future)).contains("signed 31 s in the future");
    assertThat(future.key()).as("one log line for all stale heartbeats of the node, whatever their age")
        .isEqualTo("a heartbeat of node host-a, stale in the future");
    assertThat(reason(verifier.event("host-a", "ev", EVENT, headers(a.sign("ev", EVENT, false)))))
        .isEqualTo(BusSignatures.Reason.STALE);

    agent.set(T0 - 29_000);
    assertThat(why(verifier.event("host-a", "ev", EVENT, headers(a.sign("ev", EVENT, false))))).isNull();
    agent.set(T0 + 29_000);
    assertThat(why(verifier.event("host-a", "ev", EVENT, headers(a.sign("ev", EVENT, false))))).isNull();
    assertThat(why(verifier.heartbeat("host-a", "hb", BEAT, headers(a.sign("hb", BEAT, true))))).isNull();
  }

  @Test
  @DisplayName("the timestamp and the nonce are signed: changing either breaks the signature, so a replay cannot be made fresh")
  void timestampAndNonceSigned() throws Exception {
    TestClock clock = new TestClock(T0);
    BusSignatures.Verifier verifier = knowingHostA(clock, 100);
    BusSignatures.Signer a = new BusSignatures.Signer(FleetCerts.tls(pki, "host-a"), clock);
    MultiMap recorded = headers(a.sign("ev", EVENT, false));
    clock.advance(java.time.Duration.ofSeconds(60));

    MultiMap newTime = MultiMap.caseInsensitiveMultiMap().addAll(recorded).set(BusSignatures.TIMESTAMP, Long.toString(clock.millis()));
    BusSignatures.Refusal r1 = verifier.event("host-a", "ev", EVENT, newTime);
    assertThat(reason(r1)).isEqualTo(BusSignatures.Reason.BAD_SIGNATURE);
    assertThat(why(r1)).isEqualTo("an event of node host-a, not signed by 'host-a'");

    clock.set(T0 + 1000);
    MultiMap newNonce = MultiMap.caseInsensitiveMultiMap().addAll(recorded)
        .set(BusSignatures.NONCE, java.util.Base64.getEncoder().encodeToString(new byte[16]));
    assertThat(reason(verifier.event("host-a", "ev", EVENT, newNonce))).isEqualTo(BusSignatures.Reason.BAD_SIGNATURE);
    MultiMap heartbeat = headers(a.sign("hb", BEAT, true));
    MultiMap beatNewTime = MultiMap.caseInsensitiveMultiMap().addAll(heartbeat)
        .set(BusSignatures.TIMESTAMP, Long.toString(clock.millis() + 1));
    assertThat(reason(verifier.heartbeat("host-a", "hb", BEAT, beatNewTime))).isEqualTo(BusSignatures.Reason.BAD_SIGNATURE);
    MultiMap garbage = MultiMap.caseInsensitiveMultiMap().addAll(recorded).set(BusSignatures.TIMESTAMP, "yesterday");
    assertThat(why(verifier.event("host-a", "ev", EVENT, garbage))).isEqualTo("an event of node host-a, with an unreadable timestamp");

    // none of those used up the nonce: the recorded message itself still passes once, in its window
    assertThat(why(verifier.event("host-a", "ev", EVENT, recorded))).isNull();
    assertThat(reason(verifier.event("host-a", "ev", EVENT, recorded))).isEqualTo(BusSignatures.Reason.REPLAYED);
  }

  @Test
  @DisplayName("a message signed without timestamp and nonce, as an older agent signs, is dropped with a reason that says to upgrade the agent")
  void oldAgent() throws Exception {
    TestClock clock = new TestClock(T0);
    BusSignatures.Verifier verifier = knowingHostA(clock, 100);
    BusSignatures.Signer a = new BusSignatures.Signer(FleetCerts.tls(pki, "host-a"), clock);
    MultiMap old = MultiMap.caseInsensitiveMultiMap().addAll(headers(a.sign("ev", EVENT, false)))
        .remove(BusSignatures.TIMESTAMP).remove(BusSignatures.NONCE);
    BusSignatures.Refusal r = verifier.event("host-a", "ev", EVENT, old);
    assertThat(reason(r)).isEqualTo(BusSignatures.Reason.OLD_AGENT);
    assertThat(why(r)).startsWith("an event of node host-a, without a timestamp and nonce").endsWith("upgrade the agent");
    MultiMap oldBeat = MultiMap.caseInsensitiveMultiMap().addAll(headers(a.sign("hb", BEAT, true))).remove(BusSignatures.NONCE);
    assertThat(reason(verifier.heartbeat("host-a", "hb", BEAT, oldBeat))).isEqualTo(BusSignatures.Reason.OLD_AGENT);
    assertThat(BusSignatures.Reason.OLD_AGENT.label()).isEqualTo("old_agent");
  }

  @Test
  @DisplayName("nonces are forgotten once their messages are past the window (which then drops them as stale): memory stays bounded")
  void eviction() throws Exception {
    TestClock clock = new TestClock(T0);
    BusSignatures.Verifier verifier = knowingHostA(clock, 100_000);
    BusSignatures.Signer a = new BusSignatures.Signer(FleetCerts.tls(pki, "host-a"), clock);
    BusSignatures.Signer b = new BusSignatures.Signer(FleetCerts.tls(pki, "host-b"), clock);
    JsonObject beatB = BEAT.copy().put("nodeId", "host-b");
    assertThat(why(verifier.heartbeat("host-b", "hb", beatB, headers(b.sign("hb", beatB, true))))).isNull();
    MultiMap first = headers(a.sign("ev", EVENT, false));
    assertThat(why(verifier.event("host-a", "ev", EVENT, first))).isNull();
    for (int i = 0; i < 1000; i++) {
      clock.advance(java.time.Duration.ofMillis(20)); // 20 s of messages, 50 a second
      assertThat(why(verifier.event("host-a", "ev", EVENT, headers(a.sign("ev", EVENT, false))))).isNull();
    }
    assertThat(verifier.remembered()).isEqualTo(2 + 1 + 1000); // two heartbeats, and host-a's events

    // 31 s after the first: it and what came in its first second are forgotten, and a replay of it is stale
    clock.set(T0 + 31_000);
    assertThat(verifier.remembered()).isEqualTo(1000 - 49);
    assertThat(reason(verifier.event("host-a", "ev", EVENT, first))).isEqualTo(BusSignatures.Reason.STALE);

    // long after, only what was signed within the window is kept: host-b, silent since, is swept too
    clock.set(T0 + 3_600_000);
    assertThat(why(verifier.event("host-a", "ev", EVENT, headers(a.sign("ev", EVENT, false))))).isNull();
    assertThat(verifier.remembered()).isEqualTo(1);
  }

  @Test
  @DisplayName("at the cap of nonces per node, a node's new messages are dropped (never an older nonce forgotten) until older ones expire; other nodes are not affected")
  void cap() throws Exception {
    TestClock clock = new TestClock(T0);
    BusSignatures.Verifier verifier = knowingHostA(clock, 3);
    BusSignatures.Signer a = new BusSignatures.Signer(FleetCerts.tls(pki, "host-a"), clock);
    BusSignatures.Signer b = new BusSignatures.Signer(FleetCerts.tls(pki, "host-b"), clock);
    MultiMap second = headers(a.sign("ev", EVENT, false));
    assertThat(why(verifier.event("host-a", "ev", EVENT, second))).isNull();
    assertThat(why(verifier.event("host-a", "ev", EVENT, headers(a.sign("ev", EVENT, false))))).isNull(); // the third
    BusSignatures.Refusal full = verifier.event("host-a", "ev", EVENT, headers(a.sign("ev", EVENT, false)));
    assertThat(reason(full)).isEqualTo(BusSignatures.Reason.REPLAY_CACHE_FULL);
    assertThat(why(full)).isEqualTo("an event of node host-a: more than 3 messages of that node within the 30 s replay"
        + " window; dropped until older ones expire");
    assertThat(reason(verifier.event("host-a", "ev", EVENT, second))).as("still remembered").isEqualTo(BusSignatures.Reason.REPLAYED);
    JsonObject beatB = BEAT.copy().put("nodeId", "host-b");
    assertThat(why(verifier.heartbeat("host-b", "hb", beatB, headers(b.sign("hb", beatB, true))))).isNull();
    assertThat(verifier.remembered()).isEqualTo(4);

    clock.advance(java.time.Duration.ofSeconds(31));
    assertThat(why(verifier.event("host-a", "ev", EVENT, headers(a.sign("ev", EVENT, false))))).isNull();
    assertThat(reason(verifier.event("host-a", "ev", EVENT, second))).isEqualTo(BusSignatures.Reason.STALE);
  }

  @Test
  @DisplayName("the default cap leaves room for 128 messages a second per node over the window")
  void defaultCap() {
    assertThat(BusSignatures.Verifier.defaultMaxNonces(java.time.Duration.ofSeconds(30))).isEqualTo(4096);
    assertThat(BusSignatures.Verifier.defaultMaxNonces(java.time.Duration.ofSeconds(600))).isEqualTo(76_800);
  }
}
