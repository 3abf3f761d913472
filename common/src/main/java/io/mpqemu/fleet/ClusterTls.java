package io.mpqemu.fleet;

import io.vertx.core.Handler;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.eventbus.EventBusOptions;
import io.vertx.core.http.ClientAuth;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.HttpVersion;
import io.vertx.core.net.PemKeyCertOptions;
import io.vertx.core.net.PfxOptions;
import io.vertx.core.net.TrustOptions;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.security.KeyStore;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import javax.net.ssl.SSLHandshakeException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * This host's identity in the cluster (a certificate with one role and its key) and the cluster CA.
 * Every TLS endpoint built from it requires a peer certificate of that CA with an allowed role:
 * {@code trustAll} is off and client certificates are required (the Vert.x defaults are the opposite).
 */
public final class ClusterTls {

  private static final Logger REFUSED = LoggerFactory.getLogger("io.mpqemu.fleet.Refused");
  /**
   * Whom a member of this role talks to on the event bus, either way. Agents publish events and
   * heartbeats to control planes and consume nothing, so an agent talks to control planes only: an
   * agent's certificate can neither reach another agent's bus port nor pose as a consumer that other
   * agents would deliver to. A control plane hears every agent. A client is never on the bus.
   */
  static Set<Role> busPeers(Role self) {
    return self == Role.CONTROL_PLANE ? EnumSet.of(Role.CONTROL_PLANE, Role.NODE_AGENT) : EnumSet.of(Role.CONTROL_PLANE);
  }

  private final KeyStore ca;
  private final Buffer certPem;
  private final Buffer keyPem;
  private final X509Certificate cert;
  private final Role role;

  private ClusterTls(KeyStore ca, Buffer certPem, Buffer keyPem, X509Certificate cert, Role role) {
    this.ca = ca;
    this.certPem = certPem;
    this.keyPem = keyPem;
    this.cert = cert;
    this.role = role;
  }

  /**
   * Reads the CA certificate, this host's certificate and its key. Fails with a message that says what
   * to fix: a missing file, a key other users can read, a certificate the CA did not sign or with no role.
   */
  public static ClusterTls load(Path caFile, Path certFile, Path keyFile) throws IOException {
    List<X509Certificate> cas = certificates(caFile, "CA certificate");
    List<X509Certificate> own = certificates(certFile, "certificate");
    if (!Files.isReadable(keyFile)) {
      throw new IOException("key file " + keyFile + " does not exist or cannot be read");
    }
    Set<PosixFilePermission> perms = Files.getPosixFilePermissions(keyFile); // the file itself, through a link
    if (perms.contains(PosixFilePermission.GROUP_READ) || perms.contains(PosixFilePermission.OTHERS_READ)
        || perms.contains(PosixFilePermission.GROUP_WRITE) || perms.contains(PosixFilePermission.OTHERS_WRITE)) {
      throw new IOException("key file " + keyFile + " can be read or written by other users; run: chmod 600 " + keyFile);
    }
    KeyStore store;
    try {
      store = KeyStore.getInstance("PKCS12");
      store.load(null, null);
      for (int i = 0; i < cas.size(); i++) {
        store.setCertificateEntry("ca-" + i, cas.get(i));
      }
    } catch (Exception e) {
      throw new IOException("cannot use CA certificate " + caFile + ": " + e.getMessage(), e);
    }
    X509Certificate leaf = own.get(0);
    boolean signed = false;
    for (X509Certificate c : cas) {
      try {
        leaf.verify(c.getPublicKey());
        signed = true;
      } catch (Exception e) {
        // another CA in the bundle
      }
    }
    if (!signed) {
      throw new IOException("certificate " + certFile + " (" + leaf.getSubjectX500Principal().getName()
          + ") is not signed by the CA in " + caFile);
    }
    try {
      leaf.checkValidity();
    } catch (CertificateException e) {
      throw new IOException("certificate " + certFile + " is not valid now: " + e.getMessage(), e);
    }
    byte[] keyBytes = Files.readAllBytes(keyFile);
    checkKeyMatches(keyBytes, leaf, keyFile, certFile);
    Role role = Role.of(leaf).orElseThrow(() -> new IOException("certificate " + certFile
        + " names no mpqemu role (a URI SAN " + Role.URI_PREFIX + "<role>); make it with deploy/make-certs.sh"));
    return new ClusterTls(store, Buffer.buffer(Files.readAllBytes(certFile)), Buffer.buffer(keyBytes), leaf, role);
  }

  /**
   * A key that is not the certificate's would only fail at the first handshake, with a message that
   * names neither file: sign a nonce with it and verify with the certificate. PKCS#8 keys (what
   * make-certs.sh writes) are checked; other PEM forms are left to the TLS layer.
   */
  private static void checkKeyMatches(byte[] pem, X509Certificate leaf, Path keyFile, Path certFile) throws IOException {
    String algorithm = leaf.getPublicKey().getAlgorithm();
    String signing = signatureAlgorithm(algorithm);
    if (signing == null) {
      return;
    }
    boolean matches;
    try {
      java.security.PrivateKey key = pkcs8(new String(pem, java.nio.charset.StandardCharsets.US_ASCII), algorithm);
      if (key == null) {
        return;
      }
      byte[] nonce = new byte[32];
      new java.security.SecureRandom().nextBytes(nonce);
      java.security.Signature sign = java.security.Signature.getInstance(signing);
      sign.initSign(key);
      sign.update(nonce);
      byte[] signature = sign.sign();
      java.security.Signature verify = java.security.Signature.getInstance(signing);
      verify.initVerify(leaf.getPublicKey());
      verify.update(nonce);
      matches = verify.verify(signature);
    } catch (java.security.GeneralSecurityException | IllegalArgumentException e) {
      throw new IOException("key file " + keyFile + " is not a " + algorithm + " key for certificate " + certFile + ": "
          + e.getMessage(), e);
    }
    if (!matches) {
      throw new IOException("key file " + keyFile + " does not belong to certificate " + certFile);
    }
  }

  /** The signature algorithm for keys of {@code keyAlgorithm} ("EC", "RSA"); null for others. */
  static String signatureAlgorithm(String keyAlgorithm) {
    return keyAlgorithm.equals("EC") ? "SHA256withECDSA" : keyAlgorithm.equals("RSA") ? "SHA256withRSA" : null;
  }

  /** The key in a PKCS#8 PEM ("BEGIN PRIVATE KEY", what make-certs.sh writes); null for other PEM forms. */
  private static java.security.PrivateKey pkcs8(String pem, String algorithm) throws java.security.GeneralSecurityException {
    int begin = pem.indexOf("-----BEGIN PRIVATE KEY-----");
    int end = pem.indexOf("-----END PRIVATE KEY-----");
    if (begin < 0 || end < begin) {
      return null;
    }
    byte[] der = java.util.Base64.getMimeDecoder().decode(pem.substring(begin + "-----BEGIN PRIVATE KEY-----".length(), end));
    return java.security.KeyFactory.getInstance(algorithm).generatePrivate(new java.security.spec.PKCS8EncodedKeySpec(der));
  }

  private static List<X509Certificate> certificates(Path file, String what) throws IOException {
    if (!Files.isReadable(file)) {
      throw new IOException(what + " file " + file + " does not exist or cannot be read");
    }
    try {
      List<X509Certificate> out = new ArrayList<>();
      for (var c : CertificateFactory.getInstance("X.509").generateCertificates(new ByteArrayInputStream(Files.readAllBytes(file)))) {
        out.add((X509Certificate) c);
      }
      if (out.isEmpty()) {
        throw new IOException(what + " file " + file + " holds no certificate");
      }
      return out;
    } catch (CertificateException e) {
      throw new IOException(what + " file " + file + " is not a PEM certificate: " + e.getMessage(), e);
    }
  }

  /** This host's private key (PKCS#8 PEM only), for signing what it publishes on the event bus. */
  java.security.PrivateKey privateKey() {
    java.security.PrivateKey key;
    try {
      key = pkcs8(keyPem.toString(java.nio.charset.StandardCharsets.US_ASCII), cert.getPublicKey().getAlgorithm());
    } catch (java.security.GeneralSecurityException e) {
      throw new IllegalStateException("cannot read the key: " + e.getMessage(), e);
    }
    if (key == null) {
      throw new IllegalStateException("signing bus messages needs a PKCS#8 key (BEGIN PRIVATE KEY), as make-certs.sh writes");
    }
    return key;
  }

  X509Certificate certificate() {
    return cert;
  }

  String certificatePem() {
    return certPem.toString(java.nio.charset.StandardCharsets.US_ASCII);
  }

  /** Checks certificates of message signers: the cluster CA and {@code allowed} roles, refusals logged. */
  RoleTrustManager signerTrust(String purpose, Set<Role> allowed) {
    try {
      return new RoleTrustManager(ca, allowed, purpose);
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  /** The role this host's certificate names. */
  public Role role() {
    return role;
  }

  /** The CN of this host's certificate (an agent's node id). */
  public String commonName() {
    return commonName(cert);
  }

  /** A certificate's subject CN; "" when it has none. */
  public static String commonName(X509Certificate cert) {
    try {
      for (javax.naming.ldap.Rdn rdn : new javax.naming.ldap.LdapName(cert.getSubjectX500Principal().getName()).getRdns()) {
        if (rdn.getType().equalsIgnoreCase("CN")) {
          return String.valueOf(rdn.getValue());
        }
      }
    } catch (javax.naming.InvalidNameException e) {
      return "";
    }
    return "";
  }

  /** This host's certificate subject, for log lines. */
  public String subject() {
    return cert.getSubjectX500Principal().getName();
  }

  private PemKeyCertOptions keyCert() {
    return new PemKeyCertOptions().setCertValue(certPem).setKeyValue(keyPem);
  }

  /** Trust for a port: the cluster CA, and only {@code allowed} roles; refusals logged under {@code purpose}. */
  public TrustOptions trust(String purpose, Set<Role> allowed) {
    try {
      return TrustOptions.wrap(new RoleTrustManager(ca, allowed, purpose));
    } catch (Exception e) {
      throw new IllegalStateException("cannot build trust for " + purpose + ": " + e.getMessage(), e);
    }
  }

  /** An HTTP/2 (gRPC) server under TLS that requires a client certificate with one of {@code allowed} roles. */
  public HttpServerOptions server(String purpose, Set<Role> allowed) {
    HttpServerOptions o = new HttpServerOptions().setSsl(true).setUseAlpn(true).setClientAuth(ClientAuth.REQUIRED);
    o.setKeyCertOptions(keyCert());
    o.setTrustOptions(trust(purpose, allowed));
    return o;
  }

  /**
   * An HTTP/2 client under TLS that presents this host's certificate and accepts only servers of
   * {@code allowed} roles whose certificate names the host it dialled.
   */
  public HttpClientOptions client(String purpose, Set<Role> allowed) {
    HttpClientOptions o = new HttpClientOptions().setSsl(true).setUseAlpn(true).setVerifyHost(true)
        .setProtocolVersion(HttpVersion.HTTP_2).setHttp2ClearTextUpgrade(false);
    o.setTrustAll(false);
    o.setKeyCertOptions(keyCert());
    o.setTrustOptions(trust(purpose, allowed));
    return o;
  }

  /**
   * The event bus under TLS both ways: client certificates required, peers of the roles
   * {@link #busPeers} allows for this host's role.
   * The trust is a marked PKCS#12 store (see {@link RoleTrustFactory}): Vert.x copies these options
   * through JSON, which a wrapped trust manager would not survive.
   */
  public EventBusOptions eventBus(EventBusOptions base) {
    RoleTrustFactory.install();
    base.setSsl(true).setClientAuth(ClientAuth.REQUIRED).setTrustAll(false);
    base.setKeyCertOptions(keyCert());
    base.setTrustOptions(markedStore("event bus", busPeers(role)));
    return base;
  }

  private PfxOptions markedStore(String purpose, Set<Role> roles) {
    try {
      KeyStore marked = KeyStore.getInstance("PKCS12");
      marked.load(null, null);
      int i = 0;
      for (String alias : java.util.Collections.list(ca.aliases())) {
        marked.setCertificateEntry(RoleTrustFactory.alias(roles, purpose, i++), ca.getCertificate(alias));
      }
      java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
      char[] password = "mpqemu-trust".toCharArray(); // the store holds public certificates only
      marked.store(out, password);
      return new PfxOptions().setValue(Buffer.buffer(out.toByteArray())).setPassword(new String(password));
    } catch (Exception e) {
      throw new IllegalStateException("cannot build the event bus trust store: " + e.getMessage(), e);
    }
  }

  /**
   * For a TLS server's exception handler: logs a connection refused before any certificate was
   * checked (plaintext, no client certificate). Refusals of a certificate are logged where they happen.
   */
  public static Handler<Throwable> refusalLogger(String purpose) {
    return e -> {
      if (hasCause(e, RoleTrustManager.Refused.class)) {
        return;
      }
      String why;
      String text = String.valueOf(e.getMessage());
      if (e.getClass().getSimpleName().equals("NotSslRecordException")) {
        why = "not TLS (plaintext)";
      } else if (text.contains("certificate") && (text.contains("Empty") || text.contains("null cert") || text.contains("required"))) {
        why = "no client certificate";
      } else if (hasCause(e, SSLHandshakeException.class)) {
        why = "TLS handshake failed: " + text;
      } else {
        return; // not a refusal: a connection that broke
      }
      REFUSED.warn("{}: refused a connection: {}", purpose, why);
    };
  }

  private static boolean hasCause(Throwable e, Class<? extends Throwable> type) {
    for (Throwable t = e; t != null; t = t.getCause()) {
      if (type.isInstance(t)) {
        return true;
      }
    }
    return false;
  }
}
