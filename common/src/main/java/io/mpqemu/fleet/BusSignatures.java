package io.mpqemu.fleet;

import io.vertx.core.MultiMap;
import io.vertx.core.eventbus.DeliveryOptions;
import io.vertx.core.json.JsonObject;
import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.security.PrivateKey;
import java.security.Signature;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.Base64;
import java.util.EnumSet;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Who said it, on the event bus. TLS proves that a bus peer holds a certificate of the cluster, not
 * which node a message speaks for: a message's node is just a field. So in a fleet each agent signs
 * what it publishes (the address and the JSON body) with its key; a heartbeat carries the agent's
 * certificate, whose CN must be the heartbeat's node id; an event is checked against the certificate
 * of the node it names. A message that fails is dropped and logged: events are hints, and
 * reconciliation over gRPC (where the agent's certificate is checked too) repairs what a dropped one
 * would have told.
 */
public final class BusSignatures {

  public static final String SIGNATURE = "mpqemu-signature";
  public static final String CERTIFICATE = "mpqemu-certificate";

  private BusSignatures() {}

  private static byte[] signed(String address, JsonObject body) {
    return (address + "\n" + body.encode()).getBytes(StandardCharsets.UTF_8);
  }

  /** An agent's signing side. */
  public static final class Signer {
    private final PrivateKey key;
    private final String algorithm;
    private final String certificate;

    public Signer(ClusterTls tls) {
      this.key = tls.privateKey();
      this.algorithm = ClusterTls.signatureAlgorithm(tls.certificate().getPublicKey().getAlgorithm());
      this.certificate = Base64.getEncoder().encodeToString(tls.certificatePem().getBytes(StandardCharsets.US_ASCII));
    }

    /** Delivery options carrying the signature of {@code body} at {@code address} (and the certificate, for heartbeats). */
    public DeliveryOptions sign(String address, JsonObject body, boolean withCertificate) {
      try {
        Signature s = Signature.getInstance(algorithm);
        s.initSign(key);
        s.update(signed(address, body));
        DeliveryOptions options = new DeliveryOptions().addHeader(SIGNATURE, Base64.getEncoder().encodeToString(s.sign()));
        return withCertificate ? options.addHeader(CERTIFICATE, certificate) : options;
      } catch (java.security.GeneralSecurityException e) {
        throw new IllegalStateException("cannot sign a bus message: " + e.getMessage(), e);
      }
    }
  }

  /** The control plane's checking side; remembers each node's certificate from its heartbeats. */
  public static final class Verifier {
    private final RoleTrustManager trust;
    private final Map<String, X509Certificate> nodes = new ConcurrentHashMap<>();

    public Verifier(ClusterTls tls) {
      this.trust = tls.signerTrust("event bus messages", EnumSet.of(Role.NODE_AGENT));
    }

    /**
     * A heartbeat of {@code nodeId}: its certificate must be of the cluster CA, an agent's, with CN
     * {@code nodeId}, and have signed the message. Answers null when all holds, else why not.
     */
    public String heartbeat(String nodeId, String address, JsonObject body, MultiMap headers) {
      String pem = headers.get(CERTIFICATE);
      if (pem == null) {
        return "a heartbeat of node " + nodeId + " carries no certificate";
      }
      X509Certificate cert;
      try {
        cert = (X509Certificate) CertificateFactory.getInstance("X.509")
            .generateCertificate(new ByteArrayInputStream(Base64.getDecoder().decode(pem)));
        trust.checkClientTrusted(new X509Certificate[] {cert}, "UNKNOWN");
      } catch (CertificateException | IllegalArgumentException e) {
        return "a heartbeat of node " + nodeId + " carries a certificate this cluster does not trust: " + e.getMessage();
      }
      if (!nodeId.equals(ClusterTls.commonName(cert))) {
        return "a heartbeat of node " + nodeId + " is signed by '" + ClusterTls.commonName(cert) + "'";
      }
      String bad = check(cert, address, body, headers, "a heartbeat of node " + nodeId);
      if (bad == null) {
        nodes.put(nodeId, cert);
      }
      return bad;
    }

    /** An event naming {@code nodeId}: it must be signed by the certificate that node's heartbeats carried. */
    public String event(String nodeId, String address, JsonObject body, MultiMap headers) {
      X509Certificate cert = nodes.get(nodeId);
      if (cert == null) {
        return "an event of node " + nodeId + " arrived before any valid heartbeat of that node";
      }
      return check(cert, address, body, headers, "an event of node " + nodeId);
    }

    private static String check(X509Certificate cert, String address, JsonObject body, MultiMap headers, String what) {
      String signature = headers.get(SIGNATURE);
      if (signature == null) {
        return what + ", unsigned";
      }
      try {
        Signature s = Signature.getInstance(ClusterTls.signatureAlgorithm(cert.getPublicKey().getAlgorithm()));
        s.initVerify(cert.getPublicKey());
        s.update(signed(address, body));
        return s.verify(Base64.getDecoder().decode(signature)) ? null
            : what + ", not signed by '" + ClusterTls.commonName(cert) + "'";
      } catch (java.security.GeneralSecurityException | IllegalArgumentException e) {
        return what + ", with an unreadable signature: " + e.getMessage();
      }
    }
  }
}
