package io.mpqemu.dist.cluster;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.security.KeyStore;
import java.security.Principal;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import javax.net.ssl.KeyManager;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManager;
import javax.net.ssl.X509ExtendedKeyManager;
import javax.net.ssl.X509KeyManager;
import javax.net.ssl.X509TrustManager;

/**
 * Connects to a port the way an intruder would and reports whether the server let it in. The probe
 * itself trusts any server: the question is only what the server accepts.
 */
final class TlsProbe {

  enum Outcome { ACCEPTED, REFUSED }

  private static final byte[] H2_PREFACE = ("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n").getBytes(StandardCharsets.US_ASCII);
  private static final byte[] H2_SETTINGS = {0, 0, 0, 4, 0, 0, 0, 0, 0};

  private TlsProbe() {}

  /**
   * A TLS client presenting {@code identity} (null: no certificate). Accepted when the server answers
   * the HTTP/2 preface (gRPC) or keeps the connection open waiting for frames (event bus); refused when
   * it sends an alert or closes.
   */
  static Outcome tls(String host, int port, KeyStore identity, boolean http2) throws Exception {
    SSLContext ctx = SSLContext.getInstance("TLS");
    KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
    if (identity != null) {
      kmf.init(identity, "x".toCharArray());
    }
    ctx.init(identity == null ? null : new KeyManager[] {new AlwaysPresent((X509KeyManager) kmf.getKeyManagers()[0],
        identity.aliases().nextElement())}, new TrustManager[] {new TrustAnyServer()}, null);
    try (SSLSocket s = (SSLSocket) ctx.getSocketFactory().createSocket()) {
      s.connect(new InetSocketAddress(host, port), 5000);
      s.setSoTimeout(http2 ? 5000 : 1500);
      if (http2) {
        SSLParameters params = s.getSSLParameters();
        params.setApplicationProtocols(new String[] {"h2"});
        s.setSSLParameters(params);
      }
      try {
        s.startHandshake();
        OutputStream out = s.getOutputStream();
        if (http2) {
          out.write(H2_PREFACE);
          out.write(H2_SETTINGS);
          out.flush();
        }
        int first = s.getInputStream().read();
        return first >= 0 ? Outcome.ACCEPTED : Outcome.REFUSED;
      } catch (SocketTimeoutException quiet) {
        return Outcome.ACCEPTED; // let in and waiting for more: counted as accepted, so a lax server fails the test
      } catch (IOException alert) {
        return Outcome.REFUSED;
      }
    }
  }

  /** Plaintext HTTP/2 on a port: refused when the server closes or answers with a TLS alert. */
  static Outcome plaintext(String host, int port) throws IOException {
    try (Socket s = new Socket()) {
      s.connect(new InetSocketAddress(host, port), 5000);
      s.setSoTimeout(5000);
      s.getOutputStream().write(H2_PREFACE);
      s.getOutputStream().write(H2_SETTINGS);
      s.getOutputStream().flush();
      InputStream in = s.getInputStream();
      int first = in.read();
      // 0x15: a TLS alert record. An HTTP/2 server would answer with a SETTINGS frame (length, then type 4).
      return first < 0 || first == 0x15 ? Outcome.REFUSED : Outcome.ACCEPTED;
    } catch (SocketTimeoutException quiet) {
      return Outcome.ACCEPTED; // it took the bytes and waits for more: not refused
    } catch (java.net.SocketException reset) {
      return Outcome.REFUSED;
    }
  }

  /**
   * Presents the certificate whatever CAs the server lists: the JDK would otherwise keep a certificate
   * of another issuer to itself, and the probe would test "no certificate" instead.
   */
  private static final class AlwaysPresent extends X509ExtendedKeyManager {
    private final X509KeyManager keys;
    private final String alias;

    AlwaysPresent(X509KeyManager keys, String alias) {
      this.keys = keys;
      this.alias = alias;
    }

    @Override
    public String chooseEngineClientAlias(String[] keyType, Principal[] issuers, SSLEngine engine) {
      return alias;
    }

    @Override
    public String chooseClientAlias(String[] keyType, Principal[] issuers, Socket socket) {
      return alias;
    }

    @Override
    public String[] getClientAliases(String keyType, Principal[] issuers) {
      return new String[] {alias};
    }

    @Override
    public String[] getServerAliases(String keyType, Principal[] issuers) {
      return null;
    }

    @Override
    public String chooseServerAlias(String keyType, Principal[] issuers, Socket socket) {
      return null;
    }

    @Override
    public X509Certificate[] getCertificateChain(String a) {
      return keys.getCertificateChain(a);
    }

    @Override
    public PrivateKey getPrivateKey(String a) {
      return keys.getPrivateKey(a);
    }
  }

  private static final class TrustAnyServer implements X509TrustManager {
    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType) {}

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType) {}

    @Override
    public X509Certificate[] getAcceptedIssuers() {
      return new X509Certificate[0];
    }
  }
}
