package io.mpqemu.controlplane.store;

import java.sql.Connection;
import java.sql.SQLException;

/** What PostgreSQL's SQLStates mean for the operator, and which of them are a lost connection. */
final class PostgresErrors {

  private static final String PASSWORD_SOURCES = "--store-password-file FILE, " + PostgresTarget.PASSWORD_ENV
      + " or PGPASSWORD";

  private PostgresErrors() {}

  /** Why connecting failed and what to fix, as the end of one line. */
  static String connectFailure(PostgresTarget target, SQLException e) {
    String state = e.getSQLState() == null ? "" : e.getSQLState();
    String message = PostgresStore.oneLine(e);
    if (state.equals("28P01")) {
      return "it refused the password of user " + target.user() + " (SQLState 28P01): fix " + PASSWORD_SOURCES;
    }
    if (state.equals("28000")) {
      return "it refused user " + target.user() + " (SQLState 28000: " + message + "): allow it in pg_hba.conf"
          + " or fix the user in --store";
    }
    if (state.equals("3D000")) {
      return "it has no database " + target.database() + " (SQLState 3D000): create it (createdb -O "
          + target.user() + " " + target.database() + ") or fix the database name in --store";
    }
    if (state.equals("08004") && message.contains("password")) {
      return "it asks for a password and none was given: use " + PASSWORD_SOURCES;
    }
    if (tlsFailure(e)) {
      return "the TLS handshake failed (" + message + "): check that sslrootcert names the CA that signed the"
          + " server's certificate, and that the certificate names the host given in --store";
    }
    if (state.startsWith("08")) {
      return "nothing answers there (" + message + "): check the host and port in --store, and that the server"
          + " runs and accepts TCP connections from this host";
    }
    if (state.equals("57P03")) {
      return "it is starting up or shutting down (SQLState 57P03); try again when it is up";
    }
    return message + " (SQLState " + (state.isEmpty() ? "none" : state) + ")";
  }

  /** Whether the connection failed in its TLS handshake (an untrusted or misnamed certificate). */
  private static boolean tlsFailure(Throwable e) {
    for (Throwable t = e; t != null; t = t.getCause()) {
      if (t instanceof javax.net.ssl.SSLException || t instanceof java.security.cert.CertificateException
          || String.valueOf(t.getMessage()).startsWith("SSL error")
          || String.valueOf(t.getMessage()).contains("could not be verified by hostnameverifier")) {
        return true;
      }
    }
    return false;
  }

  /**
   * True when {@code e} means the connection is gone (class 08, the server shutting down or crashing:
   * 57P01-57P03), or the connection no longer answers: then it is dropped and the next call connects again.
   */
  static boolean connectionLost(SQLException e, Connection connection) {
    String state = e.getSQLState();
    if (state != null && (state.startsWith("08") || state.startsWith("57P0"))) {
      return true;
    }
    if (connection == null) {
      return true;
    }
    try {
      return !connection.isValid(2);
    } catch (SQLException notValid) {
      return true;
    }
  }
}
