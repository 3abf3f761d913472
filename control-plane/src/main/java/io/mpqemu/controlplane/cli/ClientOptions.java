package io.mpqemu.controlplane.cli;

import io.mpqemu.net.Endpoint;
import io.vertx.core.net.SocketAddress;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ScopeType;

/**
 * The options every client command shares, mixed into the command that holds the client commands and
 * inherited by all of them, so they go before or after the subcommand: {@code vm list --output json}.
 */
public final class ClientOptions {

  /** The name this mixin is registered under; commands find it by walking up to their ancestors. */
  public static final String MIXIN = "clientOptions";

  /** How a human or a script wants answers printed. */
  public enum Output { table, json }

  @Option(names = "--server", defaultValue = "${env:MPQEMU_SERVER:-unix:/run/mpqemu/control-plane.sock}",
      scope = ScopeType.INHERIT, paramLabel = "ADDRESS", description = "The control plane's gRPC address: unix:/path"
      + " or tcp:host:port (env MPQEMU_SERVER; default: ${DEFAULT-VALUE}).")
  String server;

  @Option(names = {"-o", "--output"}, defaultValue = "table", scope = ScopeType.INHERIT, paramLabel = "FORMAT",
      description = "table (for humans, the default) or json (protobuf JSON; one object a line for lists and events).")
  Output output;

  @Option(names = "--tls-ca", defaultValue = "${env:MPQEMU_TLS_CA}", scope = ScopeType.INHERIT, paramLabel = "FILE",
      description = "The cluster CA certificate: with --tls-cert and --tls-key, talk to a tcp: server under mutual TLS"
          + " (env MPQEMU_TLS_CA).")
  java.nio.file.Path tlsCa;

  @Option(names = "--tls-cert", defaultValue = "${env:MPQEMU_TLS_CERT}", scope = ScopeType.INHERIT, paramLabel = "FILE",
      description = "A certificate of the cluster CA: client (an operator) or viewer (reads only); deploy/make-certs.sh"
          + " client|viewer NAME (env MPQEMU_TLS_CERT).")
  java.nio.file.Path tlsCert;

  @Option(names = "--tls-key", defaultValue = "${env:MPQEMU_TLS_KEY}", scope = ScopeType.INHERIT, paramLabel = "FILE",
      description = "Its key, mode 0600 (env MPQEMU_TLS_KEY).")
  java.nio.file.Path tlsKey;

  boolean tlsGiven() {
    return tlsCa != null || tlsCert != null || tlsKey != null;
  }

  /** The client's TLS identity, or null for plaintext; a {@link UsageException} when half given or unreadable. */
  io.mpqemu.fleet.ClusterTls tls() {
    int given = (tlsCa == null ? 0 : 1) + (tlsCert == null ? 0 : 1) + (tlsKey == null ? 0 : 1);
    if (given == 0) {
      return null;
    }
    if (given < 3) {
      throw new UsageException("--tls-ca, --tls-cert and --tls-key go together (or MPQEMU_TLS_CA, _CERT, _KEY)");
    }
    if (!Endpoint.isTcp(server)) {
      throw new UsageException("TLS applies to a tcp: server; a unix: socket is reached without it");
    }
    try {
      return io.mpqemu.fleet.ClusterTls.load(tlsCa, tlsCert, tlsKey);
    } catch (java.io.IOException e) {
      throw new UsageException(e.getMessage());
    }
  }

  String server() {
    return server;
  }

  boolean json() {
    return output == Output.json;
  }

  /** The address of {@link #server}, or a {@link UsageException} that says what a valid one looks like. */
  SocketAddress address() {
    try {
      return Endpoint.parse("--server", server).socketAddress();
    } catch (IllegalArgumentException e) {
      throw new UsageException(e.getMessage());
    }
  }

  /** The options of the closest ancestor of {@code spec} (or itself) that mixes them in. */
  static ClientOptions of(CommandSpec spec) {
    for (CommandSpec s = spec; s != null; s = s.parent()) {
      CommandSpec mixin = s.mixins().get(MIXIN);
      if (mixin != null) {
        return (ClientOptions) mixin.userObject();
      }
    }
    throw new IllegalStateException(spec.qualifiedName() + " is not under a command that mixes in ClientOptions");
  }
}
