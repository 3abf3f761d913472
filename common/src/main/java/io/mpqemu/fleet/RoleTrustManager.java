package io.mpqemu.fleet;

import java.net.Socket;
import java.security.KeyStore;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.util.Set;
import java.util.stream.Collectors;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509ExtendedTrustManager;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Trusts a peer only when its certificate chains to the cluster CA (PKIX, validity included) and
 * names one of the allowed roles. Every refusal is logged once, with the port's purpose, the peer's
 * address when known, the certificate's subject and the reason.
 */
final class RoleTrustManager extends X509ExtendedTrustManager {

  private static final Logger LOG = LoggerFactory.getLogger("io.mpqemu.fleet.Refused");

  private final X509ExtendedTrustManager pkix;
  private final Set<Role> allowed;
  private final String purpose;

  RoleTrustManager(KeyStore caStore, Set<Role> allowed, String purpose) throws Exception {
    TrustManagerFactory tmf = TrustManagerFactory.getInstance("PKIX");
    tmf.init(caStore);
    X509ExtendedTrustManager found = null;
    for (var tm : tmf.getTrustManagers()) {
      if (tm instanceof X509ExtendedTrustManager x) {
        found = x;
      }
    }
    if (found == null) {
      throw new IllegalStateException("no X.509 trust manager");
    }
    this.pkix = found;
    this.allowed = Set.copyOf(allowed);
    this.purpose = purpose;
  }

  /** A certificate we refused; the refusal is already logged. */
  static final class Refused extends CertificateException {
    Refused(String message, Throwable cause) {
      super(message, cause);
    }
  }

  /** The CA check, with the engine or socket when there is one (the JDK checks the host name there). */
  private interface Pkix {
    void check() throws CertificateException;
  }

  private void check(X509Certificate[] chain, Pkix pkixCheck, String peer, boolean peerIsClient) throws CertificateException {
    if (chain == null || chain.length == 0) {
      throw refuse(peer, "(none)", "no certificate", null);
    }
    try {
      pkixCheck.check();
    } catch (CertificateException e) {
      throw refuse(peer, Role.describe(chain[0]), "not issued by this cluster's CA, expired, or not for this host name (" + rootCause(e) + ")", e);
    }
    Role role = Role.of(chain[0]).orElse(null);
    if (role == null || !allowed.contains(role)) {
      throw refuse(peer, Role.describe(chain[0]), "only " + allowed.stream().map(Role::toString).sorted()
          .collect(Collectors.joining(" or ")) + (peerIsClient ? " may connect here" : " may serve here"), null);
    }
  }

  private Refused refuse(String peer, String subject, String reason, Throwable cause) {
    String message = purpose + ": refused " + (peer == null ? "a peer" : peer) + " presenting " + subject + ": " + reason;
    LOG.warn(message);
    return new Refused(message, cause);
  }

  private static String rootCause(Throwable e) {
    Throwable t = e;
    while (t.getCause() != null) {
      t = t.getCause();
    }
    return t.getMessage();
  }

  private static String peer(SSLEngine engine) {
    return engine == null || engine.getPeerHost() == null ? null : engine.getPeerHost() + ":" + engine.getPeerPort();
  }

  private static String peer(Socket socket) {
    return socket == null || socket.getRemoteSocketAddress() == null ? null : socket.getRemoteSocketAddress().toString();
  }

  @Override
  public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine) throws CertificateException {
    check(chain, () -> pkix.checkClientTrusted(chain, authType, engine), peer(engine), true);
  }

  @Override
  public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine) throws CertificateException {
    check(chain, () -> pkix.checkServerTrusted(chain, authType, engine), peer(engine), false);
  }

  @Override
  public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket) throws CertificateException {
    check(chain, () -> pkix.checkClientTrusted(chain, authType, socket), peer(socket), true);
  }

  @Override
  public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket) throws CertificateException {
    check(chain, () -> pkix.checkServerTrusted(chain, authType, socket), peer(socket), false);
  }

  @Override
  public void checkClientTrusted(X509Certificate[] chain, String authType) throws CertificateException {
    check(chain, () -> pkix.checkClientTrusted(chain, authType), null, true);
  }

  @Override
  public void checkServerTrusted(X509Certificate[] chain, String authType) throws CertificateException {
    check(chain, () -> pkix.checkServerTrusted(chain, authType), null, false);
  }

  @Override
  public X509Certificate[] getAcceptedIssuers() {
    return pkix.getAcceptedIssuers();
  }
}
