package io.mpqemu.fleet;

import java.security.cert.CertificateParsingException;
import java.security.cert.X509Certificate;
import java.util.Collection;
import java.util.List;
import java.util.Optional;

/**
 * What a cluster certificate allows its holder to be. The role is a URI subject alternative name,
 * {@code urn:mpqemu:role:<role>}, written by {@code deploy/make-certs.sh}; a certificate names one role.
 */
public enum Role {
  /** Calls node agents, serves the public API, is on the event bus. */
  CONTROL_PLANE("control-plane"),
  /** Serves the agent API to control planes, is on the event bus. */
  NODE_AGENT("node-agent"),
  /** Calls the control plane's public API (the CLI, automation) as an operator: every method. */
  CLIENT("client"),
  /** Calls the control plane's public API as a viewer: Get, List, Watch, console reads. */
  VIEWER("viewer");

  static final String URI_PREFIX = "urn:mpqemu:role:";
  private static final int SAN_URI = 6;

  private final String text;

  Role(String text) {
    this.text = text;
  }

  @Override
  public String toString() {
    return text;
  }

  /** The role a certificate names, if exactly one. */
  public static Optional<Role> of(X509Certificate cert) {
    Collection<List<?>> names;
    try {
      names = cert.getSubjectAlternativeNames();
    } catch (CertificateParsingException e) {
      return Optional.empty();
    }
    if (names == null) {
      return Optional.empty();
    }
    Role found = null;
    for (List<?> name : names) {
      if (name.size() == 2 && Integer.valueOf(SAN_URI).equals(name.get(0)) && name.get(1) instanceof String uri
          && uri.startsWith(URI_PREFIX)) {
        Role r = parse(uri.substring(URI_PREFIX.length()));
        if (r == null || (found != null && found != r)) {
          return Optional.empty(); // an unknown role or two roles: trust neither
        }
        found = r;
      }
    }
    return Optional.ofNullable(found);
  }

  private static Role parse(String text) {
    for (Role r : values()) {
      if (r.text.equals(text)) {
        return r;
      }
    }
    return null;
  }

  /** "CN=agent-a,OU=node-agent,O=mpqemu (role node-agent)" for log lines. */
  public static String describe(X509Certificate cert) {
    return "'" + cert.getSubjectX500Principal().getName() + "' (" + of(cert).map(r -> "role " + r).orElse("no mpqemu role")
        + ")";
  }
}
