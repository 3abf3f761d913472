package io.mpqemu.controlplane.store;

import io.mpqemu.controlplane.leadership.LeaseStore;
import java.io.IOException;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.regex.Pattern;

/**
 * A PostgreSQL database given as {@code postgresql://HOST[:PORT]/DB?user=NAME[&sslmode=MODE][&sslrootcert=FILE]},
 * validated whole before anything connects. The password never comes from the URL (one that carries
 * one is refused) but from a file or the environment, and {@link #toString} leaves it out.
 */
public final class PostgresTarget implements StoreTarget {

  /** The environment variable mpqemu reads the password from; libpq's PGPASSWORD is honoured after it. */
  public static final String PASSWORD_ENV = "MPQEMU_STORE_PASSWORD";

  private static final Pattern HOST = Pattern.compile("[A-Za-z0-9]([A-Za-z0-9.-]{0,252})|\\[[0-9A-Fa-f:.]+\\]");
  private static final Pattern NAME = Pattern.compile("[A-Za-z_][A-Za-z0-9_$-]{0,62}");
  private static final List<String> SSL_MODES = List.of("disable", "allow", "prefer", "require", "verify-ca",
      "verify-full");
  private static final List<String> PARAMETERS = List.of("user", "sslmode", "sslrootcert");
  private static final int CONNECT_TIMEOUT_SECONDS = 5;
  private static final int SOCKET_TIMEOUT_SECONDS = 30;

  private final String host;
  private final int port;
  private final String database;
  private final String user;
  private final String sslMode;
  private final Path sslRootCert;
  private final String password;

  private PostgresTarget(String host, int port, String database, String user, String sslMode, Path sslRootCert,
      String password) {
    this.host = host;
    this.port = port;
    this.database = database;
    this.user = user;
    this.sslMode = sslMode;
    this.sslRootCert = sslRootCert;
    this.password = password;
  }

  /**
   * Parses and checks {@code url}; {@code password} is null when none was given.
   *
   * @throws IllegalArgumentException whose message says what is wrong and how to write it
   */
  public static PostgresTarget parse(String url, String password) {
    URI uri;
    try {
      uri = new URI(url);
    } catch (URISyntaxException e) {
      throw bad("is not a URL (" + e.getReason() + ")");
    }
    if (!"postgresql".equals(uri.getScheme())) {
      throw bad("must start with postgresql://, not '" + (uri.getScheme() == null ? "" : uri.getScheme() + ":") + "'");
    }
    if (uri.getRawUserInfo() != null && uri.getRawUserInfo().contains(":")) {
      throw bad("carries a password: leave it out of the URL and put it in --store-password-file FILE or the"
          + " environment (" + PASSWORD_ENV + " or PGPASSWORD)");
    }
    String host = uri.getHost();
    if (host == null || !HOST.matcher(host).matches()) {
      throw bad("needs a host name or address: postgresql://HOST:PORT/DB");
    }
    int port = uri.getPort() == -1 ? 5432 : uri.getPort();
    if (port < 1 || port > 65535) {
      throw bad("has port " + port + ", outside 1-65535");
    }
    String path = uri.getPath() == null ? "" : uri.getPath();
    String database = path.startsWith("/") ? path.substring(1) : path;
    if (!NAME.matcher(database).matches()) {
      throw bad("needs a database name after the port (letters, digits, _ $ -, at most 63): postgresql://HOST:PORT/DB");
    }
    Map<String, String> parameters = parameters(uri.getRawQuery());
    String user = parameters.getOrDefault("user", uri.getUserInfo());
    if (user == null || !NAME.matcher(user).matches()) {
      throw bad("needs a user (letters, digits, _ $ -): add ?user=NAME");
    }
    String sslMode = parameters.getOrDefault("sslmode", "prefer");
    if (!SSL_MODES.contains(sslMode)) {
      throw bad("has sslmode=" + sslMode + "; it is one of " + String.join(", ", SSL_MODES));
    }
    Path rootCert = rootCert(parameters.get("sslrootcert"), sslMode);
    return new PostgresTarget(host, port, database, user, sslMode, rootCert,
        password == null || password.isEmpty() ? null : password);
  }

  private static Map<String, String> parameters(String query) {
    Map<String, String> parameters = new LinkedHashMap<>();
    if (query == null || query.isEmpty()) {
      return parameters;
    }
    for (String pair : query.split("&")) {
      int equals = pair.indexOf('=');
      String key = equals < 0 ? pair : pair.substring(0, equals);
      String value = equals < 0 ? "" : java.net.URLDecoder.decode(pair.substring(equals + 1),
          java.nio.charset.StandardCharsets.UTF_8);
      if (key.equals("password")) {
        throw bad("carries a password: leave it out of the URL and put it in --store-password-file FILE or the"
            + " environment (" + PASSWORD_ENV + " or PGPASSWORD)");
      }
      if (!PARAMETERS.contains(key)) {
        throw bad("has an unknown parameter '" + key + "'; known: " + String.join(", ", PARAMETERS));
      }
      if (parameters.put(key, value) != null) {
        throw bad("gives '" + key + "' twice");
      }
    }
    return parameters;
  }

  private static Path rootCert(String value, String sslMode) {
    boolean verifies = sslMode.startsWith("verify-");
    if (value == null) {
      if (verifies) {
        throw bad("has sslmode=" + sslMode + " without sslrootcert=/path/to/ca.pem: name the CA that signed the"
            + " server's certificate");
      }
      return null;
    }
    if (!verifies) {
      throw bad("has sslrootcert but sslmode=" + sslMode + ", which does not check the server: use verify-full");
    }
    Path file = Path.of(value);
    if (!file.isAbsolute() || !Files.isReadable(file)) {
      throw bad("has sslrootcert=" + value + ", which is not a readable file given by its absolute path");
    }
    return file;
  }

  /**
   * The password from {@code file} (its first line) when given, else {@code MPQEMU_STORE_PASSWORD}, else
   * {@code PGPASSWORD}; null when there is none.
   *
   * @throws IllegalArgumentException when the file cannot be read or anyone may read it
   */
  public static String password(Path file, Map<String, String> environment) {
    if (file != null) {
      try {
        if (Files.getPosixFilePermissions(file).contains(PosixFilePermission.OTHERS_READ)) {
          throw new IllegalArgumentException("--store-password-file " + file + " is readable by every user: chmod o-r it");
        }
        return Files.readString(file).lines().findFirst().orElse("");
      } catch (IOException e) {
        throw new IllegalArgumentException("--store-password-file " + file + " cannot be read: " + e.getMessage());
      }
    }
    String fromMpqemu = environment.get(PASSWORD_ENV);
    return fromMpqemu != null ? fromMpqemu : environment.get("PGPASSWORD");
  }

  private static IllegalArgumentException bad(String what) {
    return new IllegalArgumentException("--store " + what);
  }

  @Override
  public Optional<LeaseStore> lease() {
    return Optional.of(new PostgresLease(this));
  }

  @Override
  public AutoCloseable watchEvents(Runnable wake) {
    return new PostgresEventWatch(this, wake);
  }

  @Override
  public Store open() {
    return PostgresStore.open(this);
  }

  String jdbcUrl() {
    return "jdbc:postgresql://" + host + ":" + port + "/" + database;
  }

  /** What the driver is given: the credentials, TLS, and timeouts so that a lost server is noticed. */
  Properties properties() {
    Properties properties = new Properties();
    properties.setProperty("user", user);
    if (password != null) {
      properties.setProperty("password", password);
    }
    properties.setProperty("sslmode", sslMode);
    if (sslRootCert != null) {
      properties.setProperty("sslrootcert", sslRootCert.toString());
    }
    properties.setProperty("connectTimeout", String.valueOf(CONNECT_TIMEOUT_SECONDS));
    properties.setProperty("loginTimeout", String.valueOf(2 * CONNECT_TIMEOUT_SECONDS));
    properties.setProperty("socketTimeout", String.valueOf(SOCKET_TIMEOUT_SECONDS));
    properties.setProperty("tcpKeepAlive", "true");
    properties.setProperty("ApplicationName", "mpqemu-control-plane");
    properties.setProperty("reWriteBatchedInserts", "true"); // a batch of label or event rows: one INSERT
    return properties;
  }

  String user() {
    return user;
  }

  String database() {
    return database;
  }

  /** How messages name the store. */
  String describe() {
    return "PostgreSQL at " + host + ":" + port + "/" + database;
  }

  /** Host, port, database, user and sslmode: safe to log. */
  @Override
  public String toString() {
    return "postgresql://" + host + ":" + port + "/" + database + "?user=" + user + "&sslmode=" + sslMode;
  }
}
