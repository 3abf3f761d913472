package io.mpqemu.dist.cluster;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyFactory;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** Certificates made by the real {@code deploy/make-certs.sh}, plus the intruders' ones. */
final class Pki {

  final Path dir;

  Pki(Path dir) {
    this.dir = dir;
  }

  static Path script() {
    Path here = Path.of(System.getProperty("user.dir")).toAbsolutePath();
    for (Path p = here; p != null; p = p.getParent()) {
      if (Files.isExecutable(p.resolve("deploy/make-certs.sh"))) {
        return p.resolve("deploy/make-certs.sh");
      }
    }
    throw new IllegalStateException("deploy/make-certs.sh not found above " + here);
  }

  /** Runs make-certs.sh with {@code args} in this directory. */
  Pki make(String... args) throws IOException {
    List<String> cmd = new ArrayList<>(List.of(script().toString(), "--dir", dir.toString()));
    cmd.addAll(List.of(args));
    exec(cmd);
    return this;
  }

  /** A self-signed certificate that claims {@code role}: signed by nobody the cluster knows. */
  Pki selfSigned(String name, String role) throws IOException {
    Files.createDirectories(dir);
    exec(List.of("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
        "-keyout", dir.resolve(name + ".key").toString(), "-out", dir.resolve(name + ".crt").toString(), "-days", "2",
        "-subj", "/O=mpqemu/OU=" + role + "/CN=" + name, "-addext", "subjectAltName=URI:urn:mpqemu:role:" + role));
    return this;
  }

  Path crt(String name) {
    return dir.resolve(name + ".crt");
  }

  Path key(String name) {
    return dir.resolve(name + ".key");
  }

  /** A key store with {@code name}'s key and certificate, for a JDK TLS client. */
  KeyStore keyStore(String name) throws Exception {
    String pem = Files.readString(key(name), StandardCharsets.US_ASCII);
    byte[] der = Base64.getMimeDecoder().decode(pem.replaceAll("-----[A-Z ]+-----", ""));
    PrivateKey key = KeyFactory.getInstance("EC").generatePrivate(new PKCS8EncodedKeySpec(der));
    Certificate[] chain;
    try (var in = Files.newInputStream(crt(name))) {
      chain = CertificateFactory.getInstance("X.509").generateCertificates(in).toArray(Certificate[]::new);
    }
    KeyStore ks = KeyStore.getInstance("PKCS12");
    ks.load(null, null);
    ks.setKeyEntry(name, key, "x".toCharArray(), chain);
    return ks;
  }

  private static void exec(List<String> cmd) throws IOException {
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    try {
      if (!p.waitFor(60, TimeUnit.SECONDS)) {
        p.destroyForcibly();
        throw new IOException(cmd + " timed out");
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException(e);
    }
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (p.exitValue() != 0) {
      throw new IOException(cmd + " exited " + p.exitValue() + ": " + out);
    }
  }
}
