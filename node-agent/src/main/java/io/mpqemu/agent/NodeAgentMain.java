package io.mpqemu.agent;

import io.mpqemu.agent.cli.AgentClientCommand;
import io.mpqemu.agent.qemu.BootImage;
import io.mpqemu.fleet.ClusterTls;
import io.mpqemu.fleet.ClusteredVertx;
import io.mpqemu.fleet.Role;
import io.mpqemu.net.Endpoint;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.json.JsonObject;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine;

/** {@code node-agent serve | boot-image | client ...}. */
@Command(name = "node-agent", mixinStandardHelpOptions = true, versionProvider = NodeAgentMain.VersionProvider.class,
    description = "mpqemu node agent: launches and supervises multi-process QEMU VMs on this host.",
    subcommands = {NodeAgentMain.Serve.class, NodeAgentMain.MakeBootImage.class, AgentClientCommand.class})
public final class NodeAgentMain {

  public static void main(String[] args) {
    int code = new CommandLine(new NodeAgentMain()).execute(args);
    if (code != 0) {
      System.exit(code);
    }
  }

  static final class VersionProvider implements CommandLine.IVersionProvider {
    @Override
    public String[] getVersion() {
      return new String[] {"mpqemu node-agent " + Version.get()};
    }
  }

  @Command(name = "serve", mixinStandardHelpOptions = true, description = "Run the agent until SIGTERM or Ctrl-C; its VMs keep running after it stops.")
  static final class Serve implements Callable<Integer> {

    @Option(names = "--config", description = "JSON config file; flags override its keys.")
    Path config;

    @Option(names = "--node-id", description = "This node's id (default node-1).")
    String nodeId;

    @Option(names = "--listen", description = "gRPC listen address, repeatable: unix:/path (default "
        + AgentConfig.DEFAULT_LISTEN + ") or, with --cluster (TLS) or --insecure-plaintext-tcp, tcp:host:port.")
    List<String> listen;

    @Option(names = "--operator-group", paramLabel = "GROUP", description = "Members of this UNIX group may call every"
        + " method over the UNIX socket (repeatable; root and the agent's user always may).")
    List<String> operatorGroups;

    @Option(names = "--viewer-group", paramLabel = "GROUP", description = "Members of this UNIX group may get, list,"
        + " watch and read consoles over the UNIX socket (repeatable).")
    List<String> viewerGroups;

    @Option(names = "--insecure-plaintext-tcp", description = "Allow a plaintext tcp: --listen address on loopback:"
        + " nobody calling through it can be identified, so every user of this host gets operator access there.")
    Boolean insecureTcp;

    @Option(names = "--http-allowed-host", paramLabel = "NAME", description = "A Host the HTTP endpoints answer to"
        + " besides localhost, 127.0.0.1, ::1 and the listen address (repeatable).")
    List<String> httpHosts;

    @Option(names = "--max-streams-per-caller", description = "WatchEvents streams one caller identity may hold at"
        + " once (default 100).")
    Integer maxStreams;

    @Option(names = "--state-dir", description = "Where VM state directories live (default /var/lib/mpqemu/agent).")
    Path stateDir;

    @Option(names = "--image-root", description = "Disk images must lie under this directory.")
    Path imageRoot;

    @Option(names = "--qemu", description = "The qemu-system-x86_64 binary.")
    Path qemu;

    @Option(names = "--accelerator", description = "auto (KVM when usable), kvm or tcg.")
    String accelerator;

    @Option(names = "--memory-mib", description = "Guest memory this node hands out in total.")
    Long memoryMib;

    @Option(names = "--max-vms", description = "VMs this node runs at most.")
    Integer maxVms;

    @Option(names = "--label", description = "A node label key=value, repeatable.")
    Map<String, String> labels;

    @Option(names = "--advertise", description = "The gRPC endpoint heartbeats announce (default: the first --listen).")
    String advertise;

    @Option(names = "--http-listen",
        description = "Serve /healthz, /readyz and /metrics over HTTP here: unix:/path or tcp:127.0.0.1:7080 (default: no HTTP).")
    String httpListen;

    @Option(names = "--cluster", paramLabel = "FILE", description = "Join the fleet described by this JSON file"
        + " (cluster members, this host's cluster address, TLS certificates): the event bus and TCP gRPC then run"
        + " under mutual TLS. Without it the agent is local: loopback or UNIX socket only.")
    Path cluster;

    @Option(names = "--confinement", paramLabel = "on|off",
        description = "Confine every QEMU process: its own uid, no capabilities, its own namespaces (default on;"
            + " needs root). off runs them as the agent's user and says so in every VM's status.")
    String confinement;

    @Option(names = "--uid-range", paramLabel = "FIRST-LAST",
        description = "The uids and gids confined QEMU processes run as (default 2000000000-2000065535);"
            + " no account may use them.")
    String uidRange;

    @Option(names = "--allowed-driver", description = "A device driver VMs may use, repeatable (replaces the default list).")
    List<String> allowedDrivers;

    @Override
    public Integer call() throws Exception {
      AgentConfig cfg = AgentConfig.defaults();
      if (config != null) {
        cfg = cfg.merge(new JsonObject(Files.readString(config)));
      }
      try {
        cfg = cfg.merge(flags());
        cfg.validated();
      } catch (IllegalArgumentException e) {
        System.err.println("node-agent: " + e.getMessage());
        return 2;
      }
      ClusteredVertx.Started started;
      try {
        started = ClusteredVertx.startService(cluster, Role.NODE_AGENT, cfg.nodeId(), "deploy/make-certs.sh node-agent "
            + cfg.nodeId() + " --ip ...", new VertxOptions().setPreferNativeTransport(true));
      } catch (ClusteredVertx.StartException e) {
        System.err.println("node-agent: " + e.getMessage());
        return e.exitCode();
      }
      Vertx vertx = started.vertx();
      ClusterTls tls = started.tls();
      if (!vertx.isNativeTransportEnabled() && cfg.listen().stream().anyMatch(a -> !Endpoint.isTcp(a))) {
        System.err.println("node-agent: UNIX socket listening needs the native epoll transport, which did not load: "
            + vertx.unavailableNativeTransportCause());
        vertx.close();
        return 2;
      }
      CountDownLatch stopped = new CountDownLatch(1);
      Runtime.getRuntime().addShutdownHook(new Thread(() -> {
        vertx.close().toCompletionStage().toCompletableFuture().orTimeout(10, TimeUnit.SECONDS).exceptionally(e -> null).join();
        stopped.countDown();
      }, "agent-shutdown"));
      try {
        vertx.deployVerticle(new NodeAgentVerticle(cfg, tls, started.metrics())).await();
      } catch (Exception e) {
        System.err.println("node-agent: cannot start: " + e.getMessage());
        vertx.close();
        return 1;
      }
      stopped.await();
      return 0;
    }

    private JsonObject flags() {
      JsonObject j = new JsonObject();
      putIf(j, "nodeId", nodeId);
      if (listen != null) {
        j.put("listen", new io.vertx.core.json.JsonArray(new ArrayList<>(listen)));
      }
      putIf(j, "stateDir", stateDir == null ? null : stateDir.toAbsolutePath().toString());
      putIf(j, "imageRoot", imageRoot == null ? null : imageRoot.toAbsolutePath().toString());
      putIf(j, "qemuBinary", qemu == null ? null : qemu.toString());
      putIf(j, "accelerator", accelerator);
      putIf(j, "memoryMib", memoryMib);
      putIf(j, "maxVms", maxVms);
      putIf(j, "advertise", advertise);
      putIf(j, "httpListen", httpListen);
      putIf(j, "confinement", confinement);
      putIf(j, "uidRange", uidRange);
      putIf(j, "operatorGroups", operatorGroups == null ? null : new io.vertx.core.json.JsonArray(new ArrayList<>(operatorGroups)));
      putIf(j, "viewerGroups", viewerGroups == null ? null : new io.vertx.core.json.JsonArray(new ArrayList<>(viewerGroups)));
      putIf(j, "insecurePlaintextTcp", insecureTcp);
      putIf(j, "httpAllowedHosts", httpHosts == null ? null : new io.vertx.core.json.JsonArray(new ArrayList<>(httpHosts)));
      putIf(j, "maxStreamsPerCaller", maxStreams);
      if (labels != null) {
        j.put("labels", new JsonObject(new LinkedHashMap<>(labels)));
      }
      if (allowedDrivers != null) {
        j.put("allowedDrivers", new io.vertx.core.json.JsonArray(new ArrayList<>(new LinkedHashSet<>(allowedDrivers))));
      }
      return j;
    }

    private static void putIf(JsonObject j, String key, Object value) {
      if (value != null) {
        j.put(key, value);
      }
    }
  }

  @Command(name = "boot-image", mixinStandardHelpOptions = true, description = "Write a 1 MiB raw disk whose boot sector prints a line on COM1.")
  static final class MakeBootImage implements Callable<Integer> {

    @Option(names = "--message", defaultValue = "Hello from a multi-process QEMU guest",
        description = "The line to print (printable ASCII).")
    String message;

    @Option(names = "--power-off", description = "Power the machine off (ACPI) after printing.")
    boolean powerOff;

    @Parameters(index = "0", description = "The image file to write.")
    Path file;

    @Override
    public Integer call() throws Exception {
      try {
        BootImage.writeRaw(file, message, powerOff);
      } catch (IllegalArgumentException e) {
        System.err.println("node-agent: " + e.getMessage());
        return 2;
      }
      return 0;
    }
  }

  static Duration seconds(long s) {
    return Duration.ofSeconds(s);
  }
}
