package io.mpqemu.controlplane.nodes;

import io.mpqemu.errors.Echo;
import io.mpqemu.net.Endpoint;
import java.io.ByteArrayInputStream;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.CertificateParsingException;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collection;
import java.util.List;
import java.util.Locale;

/**
 * What a node may announce as its endpoint in a cluster: {@code tcp:host:port} with a host its own
 * certificate names (a DNS or IP subject alternative name), so that the control plane dials only a
 * host the node holds a certificate for. A {@code unix:} endpoint would make the control plane call a
 * socket on its own host, in plaintext, as whoever listens there; a host the certificate does not name
 * could only fail the TLS host check later, or point the control plane at a machine of the node's
 * choosing. Without a cluster (a local bus) this check does not apply: local agents listen on UNIX
 * sockets.
 */
public final class AnnouncedEndpoint {

  private static final int SAN_DNS = 2;
  private static final int SAN_IP = 7;

  private AnnouncedEndpoint() {}

  /**
   * Why node {@code nodeId}, whose heartbeat carried {@code certificate} (the header the agent's
   * signer sends: base64 of the PEM, already checked by the bus verifier), may not announce
   * {@code endpoint}; null when it may.
   */
  public static String refusal(String nodeId, String endpoint, String certificate) {
    String what = "a heartbeat of node " + nodeId + " announcing " + Echo.quote(endpoint);
    Endpoint parsed;
    try {
      parsed = Endpoint.parse("endpoint", endpoint);
    } catch (IllegalArgumentException e) {
      return what + ": not an endpoint (" + Endpoint.SYNTAX + ")";
    }
    if (!(parsed instanceof Endpoint.Tcp tcp)) {
      return what + ": in a cluster a node must announce tcp:host:port, a host its certificate names; the control"
          + " plane never calls a node's unix: endpoint";
    }
    if (tcp.port() == 0) {
      return what + ": port 0 is no port to call";
    }
    X509Certificate cert;
    try {
      cert = read(certificate);
    } catch (CertificateException | IllegalArgumentException e) {
      return what + ": its certificate cannot be read: " + e.getMessage();
    }
    List<String> names = subjectAltNames(cert);
    if (!covers(names, tcp.host())) {
      return what + ": its certificate does not name host " + Echo.of(tcp.host()) + " (it names "
          + (names.isEmpty() ? "no DNS or IP address" : String.join(", ", names)) + ")";
    }
    return null;
  }

  private static X509Certificate read(String header) throws CertificateException {
    if (header == null) {
      throw new CertificateException("the heartbeat carries none");
    }
    byte[] pem = Base64.getDecoder().decode(header.getBytes(StandardCharsets.US_ASCII));
    return (X509Certificate) CertificateFactory.getInstance("X.509").generateCertificate(new ByteArrayInputStream(pem));
  }

  /** The certificate's DNS and IP subject alternative names, as "DNS:name" and "IP:address". */
  static List<String> subjectAltNames(X509Certificate cert) {
    List<String> out = new ArrayList<>();
    Collection<List<?>> names;
    try {
      names = cert.getSubjectAlternativeNames();
    } catch (CertificateParsingException e) {
      return out;
    }
    if (names == null) {
      return out;
    }
    for (List<?> name : names) {
      if (name.size() == 2 && name.get(1) instanceof String value) {
        if (Integer.valueOf(SAN_DNS).equals(name.get(0))) {
          out.add("DNS:" + value);
        } else if (Integer.valueOf(SAN_IP).equals(name.get(0))) {
          out.add("IP:" + value);
        }
      }
    }
    return out;
  }

  /**
   * As TLS host checking does it: an IP address must be one of the IP names; a host name one of the
   * DNS names, case-insensitive, a leading "*." standing for exactly one label. No name is resolved.
   */
  static boolean covers(List<String> names, String host) {
    InetAddress ip = literal(host);
    for (String name : names) {
      if (ip != null && name.startsWith("IP:")) {
        if (ip.equals(literal(name.substring(3)))) {
          return true;
        }
      } else if (ip == null && name.startsWith("DNS:")) {
        if (dnsMatches(name.substring(4), host)) {
          return true;
        }
      }
    }
    return false;
  }

  private static boolean dnsMatches(String pattern, String host) {
    String p = trimDot(pattern).toLowerCase(Locale.ROOT);
    String h = trimDot(host).toLowerCase(Locale.ROOT);
    if (p.startsWith("*.")) {
      int dot = h.indexOf('.');
      return dot > 0 && h.substring(dot + 1).equals(p.substring(2));
    }
    return p.equals(h);
  }

  private static String trimDot(String s) {
    return s.endsWith(".") ? s.substring(0, s.length() - 1) : s;
  }

  /** The address an IP literal names; null for anything else (never a DNS lookup). */
  static InetAddress literal(String host) {
    try {
      if (host.matches("\\d{1,3}(\\.\\d{1,3}){3}")) {
        byte[] bytes = new byte[4];
        String[] parts = host.split("\\.");
        for (int i = 0; i < 4; i++) {
          int octet = Integer.parseInt(parts[i]);
          if (octet > 255) {
            return null;
          }
          bytes[i] = (byte) octet;
        }
        return InetAddress.getByAddress(bytes);
      }
      // with a ':' the JDK parses an IPv6 literal and never looks the text up
      return host.contains(":") && host.matches("[0-9A-Fa-f:.]+") ? InetAddress.getByName(host) : null;
    } catch (UnknownHostException e) {
      return null;
    }
  }
}
