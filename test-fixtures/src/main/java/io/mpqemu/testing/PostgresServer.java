package io.mpqemu.testing;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.nio.file.attribute.UserPrincipal;
import java.nio.file.attribute.UserPrincipalNotFoundException;
import java.security.SecureRandom;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * A real PostgreSQL server of Debian's packages for one test class: {@code initdb} with SCRAM passwords
 * and {@code pg_ctl start} on a free port of 127.0.0.1 and a private socket directory, under a temporary
 * directory, run as the {@code postgres} user when the tests run as root (PostgreSQL refuses root).
 * {@link #create} initializes and starts one; {@link #createDatabase} makes a database and its owner role with a random password. {@link #stop} and
 * {@link #start} stop and start the same server (fault tests); {@link #close} stops it and removes every
 * file, and a shutdown hook does the same if the test JVM ends first. Missing binaries or a missing
 * postgres user fail the test: deploy/install-deps.sh --tests installs both.
 */
public final class PostgresServer implements AutoCloseable {

  private static final String INSTALL = "run deploy/install-deps.sh --tests as root (it installs Debian's postgresql)";
  private static final SecureRandom RANDOM = new SecureRandom();

  private final Path bin;
  private final Path root;
  private final int port;
  private final boolean asPostgres;
  private final String superuserPassword = secret();
  private final Thread cleanup = new Thread(this::removeQuietly, "postgres-server-cleanup");
  private boolean running;

  private PostgresServer(Path bin, Path root, int port, boolean asPostgres) {
    this.bin = bin;
    this.root = root;
    this.port = port;
    this.asPostgres = asPostgres;
  }

  /** Creates and starts a server; fails with what to install when PostgreSQL or its user is missing. */
  public static PostgresServer create() throws IOException, InterruptedException {
    Path bin = binaries();
    boolean root = "0".equals(Files.getAttribute(Path.of("/proc/self"), "unix:uid").toString());
    Path dir = Files.createTempDirectory("mpqemu-pg-");
    PostgresServer server = new PostgresServer(bin, dir, Ports.free(), root);
    Runtime.getRuntime().addShutdownHook(server.cleanup);
    try {
      server.initialize(root ? postgresUser() : null);
      server.start();
      return server;
    } catch (IOException | InterruptedException | RuntimeException e) {
      server.close();
      throw e;
    }
  }

  private void initialize(UserPrincipal postgres) throws IOException, InterruptedException {
    Path password = root.resolve("superuser.pw");
    Files.writeString(password, superuserPassword + "\n");
    Files.createDirectory(root.resolve("sock"));
    if (postgres != null) {
      try (Stream<Path> files = Files.walk(root)) {
        for (Path p : files.toList()) {
          Files.setOwner(p, postgres);
        }
      }
    }
    Files.setPosixFilePermissions(password, PosixFilePermissions.fromString("rw-------"));
    run("initdb", "-D", data().toString(), "-U", "postgres", "--auth=scram-sha-256", "--pwfile=" + password,
        "--encoding=UTF8", "--no-locale", "--no-sync", "--no-instructions");
    Files.writeString(data().resolve("postgresql.conf"), String.join("\n",
        "", "listen_addresses = '127.0.0.1'", "port = " + port, "unix_socket_directories = '" + root.resolve("sock") + "'",
        "max_connections = 40", "shared_buffers = 16MB", "fsync = on", "synchronous_commit = on", ""),
        StandardCharsets.UTF_8, java.nio.file.StandardOpenOption.APPEND);
  }

  /**
   * Serves TLS with this certificate and key (PEM) from now on, and with {@code tlsOnly} refuses every
   * TCP connection without it (pg_hba {@code hostnossl ... reject}); restarts the server.
   */
  public synchronized void enableTls(Path certificate, Path key, boolean tlsOnly) throws IOException, InterruptedException {
    Path crt = data().resolve("server.crt");
    Path pem = data().resolve("server.key");
    Files.copy(certificate, crt, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    Files.copy(key, pem, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    Files.setPosixFilePermissions(pem, PosixFilePermissions.fromString("rw-------")); // PostgreSQL insists
    if (asPostgres) {
      Files.setOwner(crt, postgresUser());
      Files.setOwner(pem, postgresUser());
    }
    Files.writeString(data().resolve("postgresql.conf"), String.join("\n", "", "ssl = on",
        "ssl_cert_file = '" + crt + "'", "ssl_key_file = '" + pem + "'", ""), StandardCharsets.UTF_8,
        java.nio.file.StandardOpenOption.APPEND);
    if (tlsOnly) {
      Files.writeString(data().resolve("pg_hba.conf"), String.join("\n",
          "local all all scram-sha-256",
          "hostssl all all 127.0.0.1/32 scram-sha-256",
          "hostnossl all all 0.0.0.0/0 reject", ""), StandardCharsets.UTF_8);
    }
    stop();
    start();
  }

  /** Starts the server (again), waiting until it accepts connections. */
  public synchronized void start() throws IOException, InterruptedException {
    run("pg_ctl", "-D", data().toString(), "-l", root.resolve("server.log").toString(), "-w", "-t", "60", "start");
    running = true;
  }

  /** Stops the server (fast: open sessions are ended), waiting until it is gone. */
  public synchronized void stop() throws IOException, InterruptedException {
    run("pg_ctl", "-D", data().toString(), "-m", "fast", "-w", "-t", "60", "stop");
    running = false;
  }

  public int port() {
    return port;
  }

  /** The server's log so far, for a failing test's message. */
  public String log() throws IOException {
    Path log = root.resolve("server.log");
    return Files.exists(log) ? Files.readString(log) : "";
  }

  /** A new database owned by a new role of the same name with a random password. */
  public Database createDatabase(String prefix) throws SQLException {
    String name = prefix.toLowerCase().replaceAll("[^a-z0-9_]", "_") + "_" + HexFormat.of().formatHex(bytes(4));
    String password = secret();
    try (Connection admin = superuser("postgres"); Statement statement = admin.createStatement()) {
      // names and password are made here of [a-z0-9_] only; DDL takes no parameters
      statement.execute("CREATE ROLE " + name + " LOGIN PASSWORD '" + password + "'");
      statement.execute("CREATE DATABASE " + name + " OWNER " + name);
    }
    return new Database(port, name, name, password);
  }

  /** A superuser connection to {@code database}, for what a test needs to set up or break. */
  public Connection superuser(String database) throws SQLException {
    Properties properties = new Properties();
    properties.setProperty("user", "postgres");
    properties.setProperty("password", superuserPassword);
    return DriverManager.getConnection("jdbc:postgresql://127.0.0.1:" + port + "/" + database, properties);
  }

  /** Stops the server when it runs and removes its files. */
  @Override
  public synchronized void close() {
    removeQuietly();
    try {
      Runtime.getRuntime().removeShutdownHook(cleanup);
    } catch (IllegalStateException shuttingDown) {
      // the hook runs anyway
    }
  }

  private synchronized void removeQuietly() {
    try {
      if (running || Files.exists(data().resolve("postmaster.pid"))) {
        stop();
      }
    } catch (IOException | InterruptedException | RuntimeException e) {
      System.err.println("PostgresServer: stopping the server in " + root + " failed: " + e.getMessage());
    }
    try (Stream<Path> files = Files.walk(root)) {
      files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    } catch (IOException e) {
      System.err.println("PostgresServer: removing " + root + " failed: " + e.getMessage());
    }
  }

  private Path data() {
    return root.resolve("data");
  }

  /** Runs a PostgreSQL program (as postgres when we are root) in the server's directory; fails with its output. */
  private void run(String program, String... args) throws IOException, InterruptedException {
    List<String> command = new ArrayList<>();
    if (asPostgres) {
      command.addAll(List.of("runuser", "-u", "postgres", "--"));
    }
    command.add(bin.resolve(program).toString());
    command.addAll(List.of(args));
    Path output = Files.createTempFile("mpqemu-pg-cmd-", ".out");
    try {
      Process process = new ProcessBuilder(command).directory(root.toFile()).redirectErrorStream(true)
          .redirectOutput(output.toFile()).start();
      if (!process.waitFor(120, TimeUnit.SECONDS)) {
        process.destroyForcibly();
        throw new IllegalStateException(String.join(" ", command) + " did not finish within 120 s");
      }
      if (process.exitValue() != 0) {
        throw new IllegalStateException(String.join(" ", command) + " failed (exit " + process.exitValue() + "): "
            + Files.readString(output) + "\nserver log: " + log());
      }
    } finally {
      Files.deleteIfExists(output);
    }
  }

  /** The newest /usr/lib/postgresql/N/bin, or the directory of pg_ctl on the PATH. */
  private static Path binaries() throws IOException {
    Path debian = Path.of("/usr/lib/postgresql");
    if (Files.isDirectory(debian)) {
      try (Stream<Path> versions = Files.list(debian)) {
        Path newest = versions.map(v -> v.resolve("bin"))
            .filter(b -> Files.isExecutable(b.resolve("initdb")) && Files.isExecutable(b.resolve("pg_ctl")))
            .max(Comparator.comparing(b -> version(b.getParent().getFileName().toString()))).orElse(null);
        if (newest != null) {
          return newest;
        }
      }
    }
    for (String dir : System.getenv().getOrDefault("PATH", "").split(":")) {
      Path pgCtl = Path.of(dir.isEmpty() ? "." : dir, "pg_ctl");
      if (Files.isExecutable(pgCtl) && Files.isExecutable(pgCtl.toRealPath().resolveSibling("initdb"))) {
        return pgCtl.toRealPath().getParent();
      }
    }
    throw new IllegalStateException("PostgreSQL's server programs (initdb, pg_ctl) are not installed: " + INSTALL);
  }

  private static int version(String name) {
    return name.matches("\\d+") ? Integer.parseInt(name) : -1;
  }

  private static UserPrincipal postgresUser() throws IOException {
    try {
      return Path.of("/").getFileSystem().getUserPrincipalLookupService().lookupPrincipalByName("postgres");
    } catch (UserPrincipalNotFoundException e) {
      throw new IllegalStateException("There is no postgres user to run PostgreSQL as (it refuses root): " + INSTALL);
    }
  }

  private static String secret() {
    return HexFormat.of().formatHex(bytes(16));
  }

  private static byte[] bytes(int n) {
    byte[] bytes = new byte[n];
    RANDOM.nextBytes(bytes);
    return bytes;
  }

  /** A database of the server, its owner role and that role's password. */
  public record Database(int port, String name, String user, String password) {

    public String jdbcUrl() {
      return "jdbc:postgresql://127.0.0.1:" + port + "/" + name;
    }

    /** The URL {@code control-plane serve --store} takes (the password goes beside it, never in it). */
    public String url() {
      return "postgresql://127.0.0.1:" + port + "/" + name + "?user=" + user + "&sslmode=disable";
    }

    @Override
    public String toString() {
      return url();
    }
  }
}
