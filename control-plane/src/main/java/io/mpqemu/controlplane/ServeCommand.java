package io.mpqemu.controlplane;

import io.mpqemu.access.AccessSettings;
import io.mpqemu.controlplane.cli.ControlPlaneCli;
import io.mpqemu.controlplane.events.Retention;
import io.mpqemu.controlplane.leadership.Election;
import io.mpqemu.controlplane.leadership.LeaseSettings;
import io.mpqemu.controlplane.store.PostgresTarget;
import io.mpqemu.controlplane.vm.Quota;
import io.mpqemu.fleet.BusSignatures;
import io.mpqemu.fleet.ClusterConfig;
import io.mpqemu.fleet.ClusterTls;
import io.mpqemu.fleet.ClusteredVertx;
import io.mpqemu.fleet.Role;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine;

/**
 * {@code control-plane serve [--embedded-agent]}: runs the control plane until SIGTERM or Ctrl-C. The
 * jar users run mounts it beside the client commands with {@link #commandLine(EmbeddedAgent)}.
 */
@Command(name = "serve", mixinStandardHelpOptions = true,
    description = "Run the control plane until SIGTERM or Ctrl-C (with --embedded-agent, a node agent for this host too).")
public final class ServeCommand implements Callable<Integer> {

  private final EmbeddedAgent embedded;

  /** @param embedded deploys the agent of {@code --embedded-agent}; null when this build has none */
  public ServeCommand(EmbeddedAgent embedded) {
    this.embedded = embedded;
  }

  /** The whole {@code control-plane} command line: {@code serve} and the client commands. */
  public static CommandLine commandLine(EmbeddedAgent embedded) {
    CommandLine cl = ControlPlaneCli.commandLine();
    cl.addSubcommand("serve", new ServeCommand(embedded));
    return cl;
  }

  @Option(names = "--data-dir", defaultValue = "/var/lib/mpqemu/control-plane",
      description = "Where the SQLite database lives (and, with --embedded-agent, the agent's state).")
  Path dataDir;

  @Option(names = "--store", paramLabel = "URL", description = "Keep intents and the event log in PostgreSQL:"
      + " postgresql://HOST:PORT/DB?user=NAME[&sslmode=require|verify-ca|verify-full][&sslrootcert=FILE] (default:"
      + " SQLite in --data-dir). The password comes from --store-password-file, MPQEMU_STORE_PASSWORD or PGPASSWORD.")
  String store;

  @Option(names = "--store-password-file", paramLabel = "FILE", description = "The PostgreSQL password of --store,"
      + " on the file's first line (not readable by every user).")
  Path storePasswordFile;

  @Option(names = "--listen", description = "gRPC address, repeatable: unix:/path (default "
      + ControlPlaneConfig.DEFAULT_LISTEN + ") or, with --cluster (TLS) or --insecure-plaintext-tcp, tcp:host:port.")
  List<String> listen;

  @Option(names = "--operator-group", paramLabel = "GROUP", description = "Members of this UNIX group may call every"
      + " method over the UNIX socket (repeatable; root and this service's user always may).")
  List<String> operatorGroups = List.of();

  @Option(names = "--viewer-group", paramLabel = "GROUP", description = "Members of this UNIX group may Get, List,"
      + " Watch and read consoles over the UNIX socket (repeatable).")
  List<String> viewerGroups = List.of();

  @Option(names = "--insecure-plaintext-tcp", description = "Allow a plaintext tcp: --listen address on loopback:"
      + " nobody calling through it can be identified, so every user of this host gets operator access there.")
  boolean insecureTcp;

  @Option(names = "--http-allowed-host", paramLabel = "NAME", description = "A Host the HTTP endpoints answer to"
      + " besides localhost, 127.0.0.1, ::1 and the listen address (repeatable).")
  List<String> httpHosts = List.of();

  @Option(names = "--max-streams-per-caller", defaultValue = "100", description = "Event streams (WatchEvents and"
      + " /v1/events together) one caller identity may hold at once.")
  int maxStreams;

  @Option(names = "--quota-vms", defaultValue = "0", description = "VMs each caller identity (UNIX user, certificate"
      + " CN) may hold; 0: no limit.")
  int quotaVms;

  @Option(names = "--quota-memory-mib", defaultValue = "0", description = "Guest memory, in MiB, the VMs of each caller"
      + " identity may hold in total; 0: no limit.")
  long quotaMemoryMib;

  @Option(names = "--http-listen", description = "Serve /healthz, /readyz, /metrics, /v1/events (SSE) and read-only"
      + " /v1/vms, /v1/nodes over HTTP here: unix:/path or tcp:127.0.0.1:7080 (default: no HTTP).")
  String httpListen;

  @Option(names = "--embedded-agent", description = "Also run a node agent for this host in this JVM (local event bus).")
  boolean embeddedAgent;

  @Option(names = "--image-root", description = "The embedded agent's image root (default <data-dir>/images).")
  Path imageRoot;

  @Option(names = "--node-id", description = "The embedded agent's node id (default: this host's name).")
  String nodeId;

  @Option(names = "--accelerator", defaultValue = "auto", description = "The embedded agent's accelerator: auto, kvm or tcg.")
  String accelerator;

  @Option(names = "--not-ready-after", defaultValue = "10", description = "Seconds without heartbeat before a node is NOT_READY.")
  long notReadySeconds;

  @Option(names = "--lost-after", defaultValue = "30", description = "Seconds without heartbeat before a node is LOST.")
  long lostSeconds;

  @Option(names = "--reconcile-every", defaultValue = "10", description = "Seconds between reconciliations.")
  long reconcileSeconds;

  @Option(names = "--event-retention-count", paramLabel = "N", defaultValue = "100000",
      description = "The event log keeps at least the last N events (default ${DEFAULT-VALUE}).")
  long retentionCount;

  @Option(names = "--event-retention-age", paramLabel = "AGE", defaultValue = "7d",
      description = "... and every event younger than AGE: 90s, 30m, 12h or 7d (default ${DEFAULT-VALUE}).")
  String retentionAge;

  @Option(names = "--control-plane-id", paramLabel = "ID", description = "This control plane's id among those"
      + " sharing one PostgreSQL --store (each needs its own; default: this host's name). With SQLite it is alone.")
  String controlPlaneId;

  @Option(names = "--lease-length", paramLabel = "DURATION", defaultValue = "4s", description = "How long the leader's"
      + " lease lasts from each renewal, on PostgreSQL (default ${DEFAULT-VALUE}; a dead leader is replaced within"
      + " about this plus --lease-retry-period).")
  String leaseLength;

  @Option(names = "--lease-renew-deadline", paramLabel = "DURATION", defaultValue = "3s", description = "The leader"
      + " stops leading when it has not confirmed a renewal this long after sending it: before its lease can expire"
      + " (default ${DEFAULT-VALUE}; less than --lease-length).")
  String leaseRenewDeadline;

  @Option(names = "--lease-retry-period", paramLabel = "DURATION", defaultValue = "1s", description = "How often"
      + " each control plane tries to take or renew the lease (default ${DEFAULT-VALUE}; less than"
      + " --lease-renew-deadline).")
  String leaseRetryPeriod;

  @Option(names = "--cluster", paramLabel = "FILE", description = "Join the fleet described by this JSON file"
      + " (cluster members, this host's cluster address, TLS certificates): agents on other hosts are then called,"
      + " and the public API served on TCP, under mutual TLS. Without it the control plane is local.")
  Path cluster;

  @Override
  public Integer call() throws Exception {
    if (embeddedAgent && embedded == null) {
      System.err.println("control-plane: this build has no embedded agent: run the control-plane jar of the dist"
          + " module, or a node agent of its own (`node-agent serve`)");
      return 2;
    }
    if (embeddedAgent && cluster != null) {
      // in a fleet every agent signs what it publishes with a node-agent certificate of its own
      System.err.println("control-plane: --embedded-agent and --cluster do not go together: in a fleet, run"
          + " `node-agent serve --cluster` on this host with its own node-agent certificate");
      return 2;
    }
    Path data = dataDir.toAbsolutePath().normalize();
    ControlPlaneConfig defaults = ControlPlaneConfig.defaults(data);
    ControlPlaneConfig config;
    try {
      config = new ControlPlaneConfig(data, listen == null ? defaults.listen() : listen,
          Duration.ofSeconds(notReadySeconds), Duration.ofSeconds(lostSeconds), Duration.ofSeconds(reconcileSeconds),
          defaults.callDeadline(), defaults.restartBackoffMax(), defaults.limits(),
          httpListen == null ? defaults.httpListen() : httpListen,
          new AccessSettings(operatorGroups, viewerGroups, insecureTcp, httpHosts, maxStreams),
          new Quota(quotaVms, quotaMemoryMib)).withRetention(new Retention(retentionCount,
              Retention.parseAge("--event-retention-age", retentionAge)));
      config = config.withElection(new Election(controlPlaneId == null ? Election.hostId() : controlPlaneId,
          new LeaseSettings(Election.parseDuration("--lease-length", leaseLength),
              Election.parseDuration("--lease-renew-deadline", leaseRenewDeadline),
              Election.parseDuration("--lease-retry-period", leaseRetryPeriod))));
      if (store != null) {
        config = config.withStore(PostgresTarget.parse(store, PostgresTarget.password(storePasswordFile, System.getenv())));
      } else if (storePasswordFile != null) {
        throw new IllegalArgumentException("--store-password-file goes with --store postgresql://...");
      }
      config.validated();
    } catch (IllegalArgumentException e) {
      System.err.println("control-plane: " + e.getMessage());
      return 2;
    }
    Duration replayWindow = BusSignatures.DEFAULT_REPLAY_WINDOW;
    if (cluster != null) {
      // the one key of the cluster file the control plane itself needs; startService reads the rest
      try {
        replayWindow = ClusterConfig.read(cluster).replayWindow();
      } catch (IllegalArgumentException | java.io.IOException e) {
        System.err.println("control-plane: " + e.getMessage());
        return 2;
      }
    }
    ClusteredVertx.Started started;
    try {
      started = ClusteredVertx.startService(cluster, Role.CONTROL_PLANE,
          "deploy/make-certs.sh control-plane NAME --ip ...", new VertxOptions().setPreferNativeTransport(true));
    } catch (ClusteredVertx.StartException e) {
      System.err.println("control-plane: " + e.getMessage());
      return e.exitCode();
    }
    Vertx vertx = started.vertx();
    ClusterTls tls = started.tls();
    CountDownLatch stopped = new CountDownLatch(1);
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      vertx.close().toCompletionStage().toCompletableFuture().orTimeout(10, TimeUnit.SECONDS).exceptionally(e -> null).join();
      stopped.countDown();
    }, "control-plane-shutdown"));
    try {
      if (embeddedAgent) {
        embedded.deploy(vertx, new EmbeddedAgent.Settings(data,
            imageRoot == null ? null : imageRoot.toAbsolutePath().normalize(), nodeId, accelerator)).await();
      }
      // the embedded agent renders a registry of its own: the two services' mpqemu_* series stay apart
      vertx.deployVerticle(new ControlPlaneVerticle(config, tls, started.metrics(), replayWindow)).await();
    } catch (Exception e) {
      System.err.println("control-plane: cannot start: " + e.getMessage());
      vertx.close();
      return 1;
    }
    stopped.await();
    return 0;
  }
}
