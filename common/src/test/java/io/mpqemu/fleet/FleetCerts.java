package io.mpqemu.fleet;

import io.mpqemu.testing.ClusterCerts;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;

/**
 * What the fleet tests add to {@link ClusterCerts}: an identity loaded as a service loads it, and
 * certificates {@code deploy/make-certs.sh} cannot make, signed by the same CA with {@code openssl}
 * (any subjectAltName, or expired).
 */
final class FleetCerts {

  private FleetCerts() {}

  /** {@code name}'s identity with this CA, as a service loads it. */
  static ClusterTls tls(ClusterCerts certs, String name) throws IOException {
    return ClusterTls.load(certs.ca(), certs.crt(name), certs.key(name));
  }

  /** A certificate signed by this CA whose subjectAltName is exactly {@code san} (e.g. "DNS:x"). */
  static void signed(ClusterCerts certs, String name, String san) throws IOException {
    ClusterCerts.run(List.of("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
        "-keyout", certs.key(name).toString(), "-out", certs.crt(name).toString(), "-days", "2",
        "-subj", "/O=mpqemu/CN=" + name, "-addext", "subjectAltName=" + san,
        "-CA", certs.ca().toString(), "-CAkey", certs.caKey().toString()));
    private600(certs.key(name));
  }

  /** A certificate of this CA with {@code role} that was valid for one day in January 2020 ({@code openssl ca}). */
  static void expired(ClusterCerts certs, String name, String role) throws IOException {
    Path work = Files.createTempDirectory(certs.dir, "openssl-ca");
    Files.writeString(work.resolve("index.txt"), "");
    Files.writeString(work.resolve("serial"), "01\n");
    Files.writeString(work.resolve("ca.cnf"), String.join("\n",
        "[ ca ]", "default_ca = d", "[ d ]", "database = " + work.resolve("index.txt"), "new_certs_dir = " + work,
        "serial = " + work.resolve("serial"), "default_md = sha256", "policy = p", "unique_subject = no",
        "[ p ]", "organizationName = optional", "commonName = supplied",
        "[ ext ]", "basicConstraints = critical, CA:FALSE", "subjectAltName = URI:" + Role.URI_PREFIX + role, ""));
    Path csr = work.resolve(name + ".csr");
    ClusterCerts.run(List.of("openssl", "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
        "-keyout", certs.key(name).toString(), "-subj", "/O=mpqemu/CN=" + name, "-out", csr.toString()));
    ClusterCerts.run(List.of("openssl", "ca", "-batch", "-config", work.resolve("ca.cnf").toString(),
        "-cert", certs.ca().toString(), "-keyfile", certs.caKey().toString(), "-in", csr.toString(),
        "-out", certs.crt(name).toString(), "-startdate", "20200101000000Z", "-enddate", "20200102000000Z",
        "-extensions", "ext", "-notext"));
    private600(certs.key(name));
  }

  private static void private600(Path key) throws IOException {
    Files.setPosixFilePermissions(key, PosixFilePermissions.fromString("rw-------"));
  }
}
