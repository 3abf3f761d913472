package io.mpqemu.access;

import io.mpqemu.access.sys.Accounts;
import io.mpqemu.access.sys.PeerCredentials;
import io.mpqemu.fleet.Role;
import io.netty.channel.Channel;
import io.netty.channel.unix.UnixChannel;
import io.vertx.core.http.HttpConnection;
import io.vertx.core.net.impl.ConnectionBase;
import java.io.IOException;
import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import java.util.Collections;
import java.util.EnumMap;
import java.util.Map;
import java.util.WeakHashMap;
import java.util.concurrent.ConcurrentHashMap;
import javax.naming.InvalidNameException;
import javax.naming.ldap.LdapName;
import javax.naming.ldap.Rdn;
import javax.net.ssl.SSLPeerUnverifiedException;

/**
 * Decides who a connection's caller is and what it may do, once per connection:
 * <ul>
 *   <li>on a UNIX socket, from the peer's credentials as the kernel recorded them ({@link LocalAccess});
 *   <li>under TLS, from the client certificate's role (the trust manager already checked it chains to
 *       the cluster CA), by the service's table of roles;
 *   <li>on plaintext TCP (loopback only), nobody is identified, unless the operator chose
 *       {@code --insecure-plaintext-tcp}: then every local caller is an operator, {@code tcp:insecure}.
 * </ul>
 */
public final class AccessPolicy {

  /** The identity every caller on an insecure plaintext TCP port shares. */
  public static final String INSECURE_TCP = "tcp:insecure";

  /** This process's user id: a local caller with it is a peer when the policy has a peer role. */
  private static final int OWN_UID = ownUid();

  private final LocalAccess local;
  private final Map<Role, Access> certificateRoles;
  private final boolean insecureTcp;
  private final Role peerRole;
  private final Map<HttpConnection, Caller> byConnection = Collections.synchronizedMap(new WeakHashMap<>());
  private final Map<Integer, String> userNames = new ConcurrentHashMap<>();

  /**
   * @param local who may call over UNIX sockets
   * @param certificateRoles what each certificate role may do on this service (absent: nothing)
   * @param insecureTcp whether plaintext loopback TCP callers are trusted as operators
   */
  public AccessPolicy(LocalAccess local, Map<Role, Access> certificateRoles, boolean insecureTcp) {
    this(local, certificateRoles, insecureTcp, null);
  }

  private AccessPolicy(LocalAccess local, Map<Role, Access> certificateRoles, boolean insecureTcp, Role peerRole) {
    this.local = local;
    this.certificateRoles = certificateRoles.isEmpty() ? Map.of() : new EnumMap<>(certificateRoles);
    this.insecureTcp = insecureTcp;
    this.peerRole = peerRole;
  }

  /**
   * This policy, with callers holding a certificate of {@code role}, or running locally as this process's
   * user, known as {@link Caller#peer peers}: other instances of this service, which may speak for others.
   */
  public AccessPolicy withPeers(Role role) {
    return new AccessPolicy(local, certificateRoles, insecureTcp, role);
  }

  private static int ownUid() {
    try {
      return (Integer) java.nio.file.Files.getAttribute(java.nio.file.Path.of("/proc/self"), "unix:uid");
    } catch (IOException | UnsupportedOperationException | ClassCastException e) {
      return -1; // no local caller is a peer then
    }
  }

  public boolean insecureTcp() {
    return insecureTcp;
  }

  /** The caller of {@code connection}, decided at its first request and kept for its life. */
  public Caller callerOf(HttpConnection connection) {
    Caller known = byConnection.get(connection);
    if (known != null) {
      return known;
    }
    Caller caller = identify(connection);
    byConnection.put(connection, caller);
    return caller;
  }

  /** True for a connection accepted on a UNIX socket (its peer's address is usually unnamed: ours is not). */
  public static boolean onUnixSocket(HttpConnection connection) {
    return connection.localAddress() != null && connection.localAddress().isDomainSocket();
  }

  private Caller identify(HttpConnection connection) {
    if (connection.isSsl()) {
      return byCertificate(connection);
    }
    Channel channel = connection instanceof ConnectionBase base ? base.channel() : null;
    if (onUnixSocket(connection)) {
      if (!(channel instanceof UnixChannel unix)) {
        return Caller.unidentified("a caller on a UNIX socket whose credentials cannot be read (no native transport)");
      }
      try {
        PeerCredentials peer = PeerCredentials.of(unix.fd().intValue());
        String name = userNames.computeIfAbsent(peer.uid(), uid -> Accounts.userName(uid).orElse("uid-" + uid));
        return new Caller("unix:" + name, local.of(peer.uid(), peer::inGroup), "uid " + peer.uid() + " (" + name + ")",
            peerRole != null && peer.uid() == OWN_UID);
      } catch (IOException e) {
        return Caller.unidentified("a caller on a UNIX socket whose credentials cannot be read (" + e.getMessage() + ")");
      }
    }
    String from = connection.remoteAddress() == null ? "?" : connection.remoteAddress().toString();
    return insecureTcp ? new Caller(INSECURE_TCP, Access.OPERATOR, "a caller on plaintext TCP from " + from)
        : Caller.unidentified("an unidentified caller on plaintext TCP from " + from);
  }

  private Caller byCertificate(HttpConnection connection) {
    try {
      for (Certificate c : connection.peerCertificates()) {
        if (c instanceof X509Certificate leaf) {
          Role role = Role.of(leaf).orElse(null);
          Access access = role == null ? Access.NONE : certificateRoles.getOrDefault(role, Access.NONE);
          return new Caller("cert:" + commonName(leaf), access, "certificate " + Role.describe(leaf),
              role != null && role == peerRole);
        }
      }
    } catch (SSLPeerUnverifiedException e) {
      // falls through: no client certificate
    }
    return Caller.unidentified("a TLS caller without a certificate");
  }

  private static String commonName(X509Certificate cert) {
    try {
      for (Rdn rdn : new LdapName(cert.getSubjectX500Principal().getName()).getRdns()) {
        if (rdn.getType().equalsIgnoreCase("CN")) {
          return rdn.getValue().toString();
        }
      }
    } catch (InvalidNameException e) {
      // falls through
    }
    return cert.getSubjectX500Principal().getName();
  }

  /** For the start-up line: "operators: root, uid 0, groups ops; viewers: groups view". */
  public String summary() {
    return "on UNIX sockets operators are " + local.howToGet(Access.OPERATOR) + (local.viewerGroups().isEmpty() ? ""
        : ", viewers members of group " + String.join(", ", local.viewerGroups().values().stream().sorted().toList()))
        + (insecureTcp ? "; plaintext loopback TCP trusted (--insecure-plaintext-tcp)" : "");
  }

  /** What a refused caller of {@code connection} is told it takes to get {@code needed}. */
  String howToGet(Access needed, HttpConnection connection) {
    if (connection.isSsl()) {
      // peers (other instances of this service) are not a way for a person to get access: not offered
      return "a certificate with role " + certificateRoles.entrySet().stream()
          .filter(e -> e.getValue().includes(needed) && e.getKey() != peerRole)
          .map(e -> e.getKey().toString()).sorted().reduce((a, b) -> a + " or " + b).orElse("(none serves here)");
    }
    if (onUnixSocket(connection)) {
      return local.howToGet(needed);
    }
    return "call over the service's UNIX socket or TLS: a plaintext TCP caller cannot be identified";
  }
}
