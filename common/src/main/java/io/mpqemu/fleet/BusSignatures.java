package io.mpqemu.fleet;

import io.vertx.core.MultiMap;
import io.vertx.core.eventbus.DeliveryOptions;
import io.vertx.core.json.JsonObject;
import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.security.Signature;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.util.Base64;
import java.util.Comparator;
import java.util.EnumSet;
import java.util.HashSet;
import java.util.Map;
import java.util.PriorityQueue;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Who said it, and when, on the event bus. TLS proves that a bus peer holds a certificate of the
 * cluster, not which node a message speaks for: a message's node is just a field. So in a fleet each
 * agent signs what it publishes (the address, a timestamp, a random nonce and the JSON body) with its
 * key; a heartbeat carries the agent's certificate, whose CN must be the heartbeat's node id; an event
 * is checked against the certificate of the node it names.
 *
 * <p>The timestamp and nonce stop replays: any bus member receives what agents publish, and could send
 * a recorded message again. The control plane drops a message signed more than the replay window
 * ({@link #DEFAULT_REPLAY_WINDOW}, {@code replayWindowSeconds} in the cluster file) in the past or in
 * the future (so the hosts' clocks must agree within it), and one whose nonce it has seen from that node
 * within the window. It remembers a nonce only while its message could still pass the window, and at
 * most {@link Verifier#maxNoncesPerNode()} of them per node: a node sending faster than that has its
 * messages dropped until older nonces expire, never a nonce forgotten early.
 *
 * <p>A message that fails is dropped and logged: events are hints, and reconciliation over gRPC
 * (where the agent's certificate is checked too) repairs what a dropped one would have told.
 */
public final class BusSignatures {

  public static final String SIGNATURE = "mpqemu-signature";
  public static final String CERTIFICATE = "mpqemu-certificate";
  /** When the message was signed: milliseconds since the epoch, in decimal. */
  public static final String TIMESTAMP = "mpqemu-timestamp";
  /** 16 random bytes, base64: the same nonce from the same node twice within the window is a replay. */
  public static final String NONCE = "mpqemu-nonce";

  /** How far a message's timestamp may be from the control plane's clock, either way. */
  public static final Duration DEFAULT_REPLAY_WINDOW = Duration.ofSeconds(30);

  /** A nonce is 16 bytes in base64 (24 characters); anything longer is not one an agent made. */
  private static final int MAX_NONCE_CHARS = 64;

  private BusSignatures() {}

  /** What the signature covers: a timestamp or nonce moved to another message, or changed, breaks it. */
  private static byte[] signed(String address, String timestamp, String nonce, JsonObject body) {
    return ("mpqemu-bus-v2\n" + address + "\n" + timestamp + "\n" + nonce + "\n" + body.encode())
        .getBytes(StandardCharsets.UTF_8);
  }

  /** Why a message was dropped; {@link #label()} is the {@code reason} of the drop metric. */
  public enum Reason {
    /** No signature, or a heartbeat without the certificate to check it with. */
    UNSIGNED,
    /** Signed, but without a timestamp and nonce: an agent older than this control plane. */
    OLD_AGENT,
    /** A heartbeat's certificate is not an agent certificate of this cluster's CA. */
    UNTRUSTED_CERTIFICATE,
    /** A heartbeat signed with the certificate of another node than the one it announces. */
    WRONG_NODE,
    /** An event of a node that has sent no valid heartbeat yet. */
    UNKNOWN_NODE,
    /** Not signed by the node it names, tampered with, or unreadable. */
    BAD_SIGNATURE,
    /** Signed further in the past or future than the replay window. */
    STALE,
    /** Its nonce was seen from that node within the window. */
    REPLAYED,
    /** The node has as many nonces within the window as the control plane keeps for one node. */
    REPLAY_CACHE_FULL,
    /** The check itself failed (a bug, or the JVM out of resources). */
    CHECK_FAILED;

    public String label() {
      return name().toLowerCase(java.util.Locale.ROOT);
    }
  }

  /**
   * A dropped message: why ({@code reason}), and the log line ({@code message}). {@code key} is the
   * same for every drop of one kind from one node, so that a burst logs once.
   */
  public record Refusal(Reason reason, String message, String key) {
    public static Refusal of(Reason reason, String message) {
      return new Refusal(reason, message, message);
    }

    @Override
    public String toString() {
      return message;
    }
  }

  /** Dropped messages by reason: counted where they are dropped, read by /metrics. Thread-safe. */
  public static final class Drops {
    private final java.util.concurrent.atomic.AtomicLongArray counts =
        new java.util.concurrent.atomic.AtomicLongArray(Reason.values().length);

    public void count(Reason reason) {
      counts.incrementAndGet(reason.ordinal());
    }

    public long get(Reason reason) {
      return counts.get(reason.ordinal());
    }
  }

  /** An agent's signing side. */
  public static final class Signer {
    private final PrivateKey key;
    private final String algorithm;
    private final String certificate;
    private final Clock clock;
    private final SecureRandom random = new SecureRandom();

    public Signer(ClusterTls tls) {
      this(tls, Clock.systemUTC());
    }

    /** Signs with {@code clock}'s time (tests sign in the past or future with it). */
    public Signer(ClusterTls tls, Clock clock) {
      this.key = tls.privateKey();
      this.algorithm = ClusterTls.signatureAlgorithm(tls.certificate().getPublicKey().getAlgorithm());
      this.certificate = Base64.getEncoder().encodeToString(tls.certificatePem().getBytes(StandardCharsets.US_ASCII));
      this.clock = clock;
    }

    /**
     * Delivery options carrying the time, a fresh nonce and the signature of {@code body} at
     * {@code address} with both (and the certificate, for heartbeats). Each call makes a new nonce:
     * sign each message sent, never reuse the options.
     */
    public DeliveryOptions sign(String address, JsonObject body, boolean withCertificate) {
      byte[] n = new byte[16];
      random.nextBytes(n);
      String nonce = Base64.getEncoder().encodeToString(n);
      String timestamp = Long.toString(clock.millis());
      try {
        Signature s = Signature.getInstance(algorithm);
        s.initSign(key);
        s.update(signed(address, timestamp, nonce, body));
        DeliveryOptions options = new DeliveryOptions().addHeader(TIMESTAMP, timestamp).addHeader(NONCE, nonce)
            .addHeader(SIGNATURE, Base64.getEncoder().encodeToString(s.sign()));
        return withCertificate ? options.addHeader(CERTIFICATE, certificate) : options;
      } catch (java.security.GeneralSecurityException e) {
        throw new IllegalStateException("cannot sign a bus message: " + e.getMessage(), e);
      }
    }
  }

  /**
   * The control plane's checking side; remembers each node's certificate from its heartbeats, and the
   * nonces each node used within the window. Thread-safe.
   */
  public static final class Verifier {
    private final RoleTrustManager trust;
    private final Map<String, X509Certificate> nodes = new ConcurrentHashMap<>();
    private final Map<String, Seen> seen = new ConcurrentHashMap<>();
    private final long windowMillis;
    private final int maxNoncesPerNode;
    private final Clock clock;
    private volatile long lastSweep;

    /** The default window on the system clock. */
    public Verifier(ClusterTls tls) {
      this(tls, DEFAULT_REPLAY_WINDOW, Clock.systemUTC());
    }

    /** Drops messages signed more than {@code window} from {@code clock}'s time, and nonces seen within it. */
    public Verifier(ClusterTls tls, Duration window, Clock clock) {
      this(tls, window, defaultMaxNonces(window), clock);
    }

    /** As above, remembering at most {@code maxNoncesPerNode} nonces of one node. */
    public Verifier(ClusterTls tls, Duration window, int maxNoncesPerNode, Clock clock) {
      if (window.isNegative() || window.isZero() || maxNoncesPerNode < 1) {
        throw new IllegalArgumentException("a replay window must be positive and keep at least one nonce");
      }
      this.trust = tls.signerTrust("event bus messages", EnumSet.of(Role.NODE_AGENT));
      this.windowMillis = window.toMillis();
      this.maxNoncesPerNode = maxNoncesPerNode;
      this.clock = clock;
    }

    /**
     * Room for 128 messages a second from one node over a window (4096 at least): an agent sends a
     * heartbeat a second or so and a handful of events per VM change; a node over it has its messages
     * dropped (counted, logged) until its older nonces expire.
     */
    static int defaultMaxNonces(Duration window) {
      return (int) Math.min(Integer.MAX_VALUE, Math.max(4096, 128 * Math.max(1, window.toSeconds())));
    }

    public Duration window() {
      return Duration.ofMillis(windowMillis);
    }

    public int maxNoncesPerNode() {
      return maxNoncesPerNode;
    }

    /** The nonces remembered now, all nodes together (after dropping those past the window). */
    public int remembered() {
      sweep(clock.millis(), true);
      int n = 0;
      for (Seen s : seen.values()) {
        n += s.size();
      }
      return n;
    }

    /**
     * A heartbeat of {@code nodeId}: its certificate must be of the cluster CA, an agent's, with CN
     * {@code nodeId}, have signed the message, within the window, with a nonce not seen before.
     * Answers null when all holds, else why not.
     */
    public Refusal heartbeat(String nodeId, String address, JsonObject body, MultiMap headers) {
      String what = "a heartbeat of node " + nodeId;
      String pem = headers.get(CERTIFICATE);
      if (pem == null) {
        return Refusal.of(Reason.UNSIGNED, what + " carries no certificate");
      }
      X509Certificate cert;
      try {
        cert = (X509Certificate) CertificateFactory.getInstance("X.509")
            .generateCertificate(new ByteArrayInputStream(Base64.getDecoder().decode(pem)));
        trust.checkClientTrusted(new X509Certificate[] {cert}, "UNKNOWN");
      } catch (CertificateException | IllegalArgumentException e) {
        return Refusal.of(Reason.UNTRUSTED_CERTIFICATE, what + " carries a certificate this cluster does not trust: "
            + e.getMessage());
      }
      if (!nodeId.equals(ClusterTls.commonName(cert))) {
        return Refusal.of(Reason.WRONG_NODE, what + " is signed by '" + ClusterTls.commonName(cert) + "'");
      }
      Refusal bad = check(nodeId, cert, address, body, headers, what);
      if (bad == null) {
        nodes.put(nodeId, cert);
      }
      return bad;
    }

    /** An event naming {@code nodeId}: it must be signed by the certificate that node's heartbeats carried, freshly. */
    public Refusal event(String nodeId, String address, JsonObject body, MultiMap headers) {
      String what = "an event of node " + nodeId;
      X509Certificate cert = nodes.get(nodeId);
      if (cert == null) {
        return Refusal.of(Reason.UNKNOWN_NODE, what + " arrived before any valid heartbeat of that node");
      }
      return check(nodeId, cert, address, body, headers, what);
    }

    private Refusal check(String nodeId, X509Certificate cert, String address, JsonObject body, MultiMap headers,
        String what) {
      String signature = headers.get(SIGNATURE);
      if (signature == null) {
        return Refusal.of(Reason.UNSIGNED, what + ", unsigned");
      }
      String timestamp = headers.get(TIMESTAMP);
      String nonce = headers.get(NONCE);
      if (timestamp == null || nonce == null) {
        return Refusal.of(Reason.OLD_AGENT, what + ", without a timestamp and nonce: that agent is older than this"
            + " control plane, which drops its messages as possible replays; upgrade the agent");
      }
      long signedAt;
      try {
        signedAt = Long.parseLong(timestamp);
      } catch (NumberFormatException e) {
        return Refusal.of(Reason.BAD_SIGNATURE, what + ", with an unreadable timestamp");
      }
      if (nonce.isEmpty() || nonce.length() > MAX_NONCE_CHARS) {
        return Refusal.of(Reason.BAD_SIGNATURE, what + ", with an unreadable nonce");
      }
      try {
        Signature s = Signature.getInstance(ClusterTls.signatureAlgorithm(cert.getPublicKey().getAlgorithm()));
        s.initVerify(cert.getPublicKey());
        s.update(signed(address, timestamp, nonce, body));
        if (!s.verify(Base64.getDecoder().decode(signature))) {
          return Refusal.of(Reason.BAD_SIGNATURE, what + ", not signed by '" + ClusterTls.commonName(cert) + "'");
        }
      } catch (java.security.GeneralSecurityException | IllegalArgumentException e) {
        return Refusal.of(Reason.BAD_SIGNATURE, what + ", with an unreadable signature: " + e.getMessage());
      }
      // only a good signature gets here: nobody else can use up a node's nonces
      long now = clock.millis();
      long skew = now - signedAt;
      if (Math.abs(skew) > windowMillis) {
        String when = skew > 0 ? "in the past" : "in the future";
        return new Refusal(Reason.STALE, what + ", stale: signed " + Math.abs(skew) / 1000 + " s " + when
            + ", outside the " + windowMillis / 1000 + " s replay window (are the hosts' clocks synchronized? NTP, chrony)",
            what + ", stale " + when);
      }
      sweep(now, false);
      return seen.computeIfAbsent(nodeId, n -> new Seen()).add(nonce, signedAt, now, windowMillis, maxNoncesPerNode, what);
    }

    /** Forgets every node's nonces past the window: always when asked, otherwise at most once a window. */
    private void sweep(long now, boolean always) {
      if (!always && now - lastSweep < windowMillis) {
        return;
      }
      lastSweep = now;
      for (Seen s : seen.values()) {
        s.expire(now, windowMillis);
      }
    }
  }

  /** One node's nonces still within the window, in the order they expire. */
  private static final class Seen {
    private record Entry(long signedAt, String nonce) {}

    private final Set<String> nonces = new HashSet<>();
    private final PriorityQueue<Entry> byTime = new PriorityQueue<>(Comparator.comparingLong(Entry::signedAt));

    synchronized int size() {
      return nonces.size();
    }

    /** A message signed at {@code t} is accepted until {@code t + window}: its nonce is kept as long. */
    synchronized void expire(long now, long window) {
      while (!byTime.isEmpty() && byTime.peek().signedAt() < now - window) {
        nonces.remove(byTime.poll().nonce());
      }
    }

    synchronized Refusal add(String nonce, long signedAt, long now, long window, int max, String what) {
      expire(now, window);
      if (nonces.contains(nonce)) {
        return Refusal.of(Reason.REPLAYED, what + ", replayed: its nonce was seen within the " + window / 1000
            + " s replay window");
      }
      if (nonces.size() >= max) {
        return Refusal.of(Reason.REPLAY_CACHE_FULL, what + ": more than " + max + " messages of that node within the "
            + window / 1000 + " s replay window; dropped until older ones expire");
      }
      nonces.add(nonce);
      byTime.add(new Entry(signedAt, nonce));
      return null;
    }
  }
}
