package io.mpqemu.testing;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyFactory;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A cluster CA and role certificates in one directory, made by the real {@code deploy/make-certs.sh}
 * as an operator makes them: {@code ca.crt}/{@code ca.key} and {@code NAME.crt}/{@code NAME.key}.
 * A test that needs a certificate the script cannot make builds it with {@link #run} next to these.
 */
public final class ClusterCerts {

  public final Path dir;

  private ClusterCerts(Path dir) {
    this.dir = dir;
  }

  /** A new cluster CA in {@code dir} ({@code make-certs.sh ca}). */
  public static ClusterCerts ca(Path dir) throws IOException {
    return new ClusterCerts(dir).make("ca");
  }

  /** {@code make-certs.sh --dir DIR args...}, e.g. {@code "node-agent", "host-a", "--ip", "127.0.0.1"}. */
  public ClusterCerts make(String... args) throws IOException {
    List<String> cmd = new ArrayList<>(List.of(script().toString(), "--dir", dir.toString()));
    cmd.addAll(List.of(args));
    run(cmd);
    return this;
  }

  /** The script in the repository this test runs in, found from the working directory upwards. */
  public static Path script() {
    Path here = Path.of(System.getProperty("user.dir")).toAbsolutePath();
    for (Path p = here; p != null; p = p.getParent()) {
      if (Files.isExecutable(p.resolve("deploy/make-certs.sh"))) {
        return p.resolve("deploy/make-certs.sh");
      }
    }
    throw new IllegalStateException("deploy/make-certs.sh not found above " + here);
  }

  public Path ca() {
    return dir.resolve("ca.crt");
  }

  public Path caKey() {
    return dir.resolve("ca.key");
  }

  public Path crt(String name) {
    return dir.resolve(name + ".crt");
  }

  public Path key(String name) {
    return dir.resolve(name + ".key");
  }

  public X509Certificate cert(String name) throws Exception {
    return read(crt(name));
  }

  public static X509Certificate read(Path pem) throws Exception {
    try (InputStream in = Files.newInputStream(pem)) {
      return (X509Certificate) CertificateFactory.getInstance("X.509").generateCertificate(in);
    }
  }

  /** A PKCS#12 key store with {@code name}'s key and certificate, for a JDK TLS client. */
  public KeyStore keyStore(String name) throws Exception {
    String pem = Files.readString(key(name), StandardCharsets.US_ASCII);
    byte[] der = Base64.getMimeDecoder().decode(pem.replaceAll("-----[A-Z ]+-----", ""));
    PrivateKey key = KeyFactory.getInstance("EC").generatePrivate(new PKCS8EncodedKeySpec(der));
    Certificate[] chain;
    try (InputStream in = Files.newInputStream(crt(name))) {
      chain = CertificateFactory.getInstance("X.509").generateCertificates(in).toArray(Certificate[]::new);
    }
    KeyStore ks = KeyStore.getInstance("PKCS12");
    ks.load(null, null);
    ks.setKeyEntry(name, key, "x".toCharArray(), chain);
    return ks;
  }

  /** Runs {@code cmd} (make-certs.sh, openssl), failing with its output unless it exits 0 within a minute. */
  public static void run(List<String> cmd) throws IOException {
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    String out;
    try {
      out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      if (!p.waitFor(60, TimeUnit.SECONDS)) {
        p.destroyForcibly();
        throw new IOException(cmd + " timed out");
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException(e);
    }
    if (p.exitValue() != 0) {
      throw new IOException(cmd + " exited " + p.exitValue() + ": " + out);
    }
  }
}
