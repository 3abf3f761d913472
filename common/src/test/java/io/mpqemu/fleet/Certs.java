package io.mpqemu.fleet;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A cluster CA and certificates in one directory, made by the real {@code deploy/make-certs.sh}, plus
 * odd ones made with {@code openssl} directly (self-signed, two roles, no role, expired).
 */
final class Certs {

  final Path dir;

  private Certs(Path dir) {
    this.dir = dir;
  }

  /** A new cluster CA in {@code dir} (make-certs.sh ca). */
  static Certs ca(Path dir) throws IOException {
    Certs c = new Certs(dir);
    c.makeCerts("ca");
    return c;
  }

  static Path script() {
    Path here = Path.of(System.getProperty("user.dir")).toAbsolutePath();
    for (Path p = here; p != null; p = p.getParent()) {
      if (Files.exists(p.resolve("deploy/make-certs.sh"))) {
        return p.resolve("deploy/make-certs.sh");
      }
    }
    throw new IllegalStateException("deploy/make-certs.sh not found above " + here);
  }

  /** make-certs.sh --dir DIR {@code args...}, e.g. {@code "node-agent", "host-a", "--ip", "127.0.0.1"}. */
  Certs makeCerts(String... args) throws IOException {
    List<String> cmd = new ArrayList<>(List.of(script().toString(), "--dir", dir.toString()));
    cmd.addAll(List.of(args));
    exec(cmd);
    return this;
  }

  /** A certificate signed by this CA whose subjectAltName is exactly {@code san} (e.g. "DNS:x"). */
  Certs signed(String name, String san) throws IOException {
    exec(List.of("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
        "-keyout", key(name).toString(), "-out", crt(name).toString(), "-days", "2", "-subj", "/O=mpqemu/CN=" + name,
        "-addext", "subjectAltName=" + san, "-CA", ca().toString(), "-CAkey", dir.resolve("ca.key").toString()));
    return private600(name);
  }

  /** A self-signed certificate that claims {@code role}: signed by no cluster CA. */
  Certs selfSigned(String name, String role) throws IOException {
    exec(List.of("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
        "-keyout", key(name).toString(), "-out", crt(name).toString(), "-days", "2", "-subj", "/O=mpqemu/CN=" + name,
        "-addext", "subjectAltName=URI:" + Role.URI_PREFIX + role));
    return private600(name);
  }

  /** A certificate of this CA with {@code role} that was valid for one day in January 2020 ({@code openssl ca}). */
  Certs expired(String name, String role) throws IOException {
    Path work = Files.createTempDirectory(dir, "openssl-ca");
    Files.writeString(work.resolve("index.txt"), "");
    Files.writeString(work.resolve("serial"), "01\n");
    Files.writeString(work.resolve("ca.cnf"), String.join("\n",
        "[ ca ]", "default_ca = d", "[ d ]", "database = " + work.resolve("index.txt"), "new_certs_dir = " + work,
        "serial = " + work.resolve("serial"), "default_md = sha256", "policy = p", "unique_subject = no",
        "[ p ]", "organizationName = optional", "commonName = supplied",
        "[ ext ]", "basicConstraints = critical, CA:FALSE", "subjectAltName = URI:" + Role.URI_PREFIX + role, ""));
    Path csr = work.resolve(name + ".csr");
    exec(List.of("openssl", "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
        "-keyout", key(name).toString(), "-subj", "/O=mpqemu/CN=" + name, "-out", csr.toString()));
    exec(List.of("openssl", "ca", "-batch", "-config", work.resolve("ca.cnf").toString(), "-cert", ca().toString(),
        "-keyfile", dir.resolve("ca.key").toString(), "-in", csr.toString(), "-out", crt(name).toString(),
        "-startdate", "20200101000000Z", "-enddate", "20200102000000Z", "-extensions", "ext", "-notext"));
    return private600(name);
  }

  private Certs private600(String name) throws IOException {
    Files.setPosixFilePermissions(key(name), PosixFilePermissions.fromString("rw-------"));
    return this;
  }

  Path ca() {
    return dir.resolve("ca.crt");
  }

  Path crt(String name) {
    return dir.resolve(name + ".crt");
  }

  Path key(String name) {
    return dir.resolve(name + ".key");
  }

  /** {@code name}'s identity with this CA, as a service loads it. */
  ClusterTls tls(String name) throws IOException {
    return ClusterTls.load(ca(), crt(name), key(name));
  }

  X509Certificate cert(String name) throws Exception {
    return read(crt(name));
  }

  static X509Certificate read(Path pem) throws Exception {
    try (InputStream in = Files.newInputStream(pem)) {
      return (X509Certificate) CertificateFactory.getInstance("X.509").generateCertificate(in);
    }
  }

  private static void exec(List<String> cmd) throws IOException {
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
