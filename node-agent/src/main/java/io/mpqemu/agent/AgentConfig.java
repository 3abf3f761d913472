package io.mpqemu.agent;

import io.mpqemu.access.AccessSettings;
import io.mpqemu.agent.confine.ConfinementSettings;
import io.mpqemu.agent.confine.UidRange;
import io.mpqemu.agent.net.NodeNetworks;
import io.mpqemu.agent.state.VmPaths;
import io.mpqemu.net.Endpoint;
import io.mpqemu.net.UnixSocketPaths;
import io.mpqemu.spec.NodeLimits;
import io.mpqemu.spec.SpecValidator;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Everything an agent is told at start-up: from a JSON config file, then command-line flags.
 *
 * @param listen gRPC listen addresses: {@code unix:/path} or {@code tcp:host:port}
 * @param accelerator {@code auto} (KVM when /dev/kvm is usable, TCG otherwise), {@code kvm} or {@code tcg}
 * @param memoryMib guest memory this node may hand out in total
 * @param stopTimeout how long a guest gets to power off when a stop names no timeout
 * @param exitDeadline how long a process gets to exit after it was told to (quit, peer gone) before SIGKILL
 * @param advertise the gRPC endpoint heartbeats announce to the control plane; "" means the first
 *     listen address
 * @param heartbeatInterval how often the agent announces itself on the event bus
 * @param confinement how QEMU processes are confined (on unless {@code --confinement=off})
 * @param httpListen the address of /healthz, /readyz and /metrics ({@code unix:/path} or
 *     {@code tcp:loopback:port}); "" serves no HTTP
 * @param access who may call the agent's API over its UNIX sockets, and its stream limit
 * @param networks the networks the node defines for NICs ({@code "networks"}; "default" always)
 */
public record AgentConfig(
    String nodeId,
    List<String> listen,
    Path stateDir,
    Path imageRoot,
    Path qemuBinary,
    String accelerator,
    NodeLimits limits,
    long memoryMib,
    int maxVms,
    Map<String, String> labels,
    Duration stopTimeout,
    Duration exitDeadline,
    long consoleLogMaxBytes,
    String advertise,
    Duration heartbeatInterval,
    String httpListen,
    ConfinementSettings confinement,
    AccessSettings access,
    NodeNetworks networks) {

  /** Where the agent listens unless told otherwise, and where its client looks for it. */
  public static final String DEFAULT_LISTEN = "unix:/run/mpqemu/agent.sock";

  private static final Pattern NODE_ID = Pattern.compile("^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$");
  /** The control plane names VMs by UUID: its ids must fit under the state dir. */
  static final int CONTROL_PLANE_VM_ID_LENGTH = 36;
  private static final Pattern SAFE_PATH = Pattern.compile("^/[A-Za-z0-9._/-]*$");

  public AgentConfig {
    listen = List.copyOf(listen);
    labels = Map.copyOf(labels);
  }

  /** With the default advertise address (the first listen address) and a 3 s heartbeat. */
  public AgentConfig(String nodeId, List<String> listen, Path stateDir, Path imageRoot, Path qemuBinary,
      String accelerator, NodeLimits limits, long memoryMib, int maxVms, Map<String, String> labels,
      Duration stopTimeout, Duration exitDeadline, long consoleLogMaxBytes) {
    this(nodeId, listen, stateDir, imageRoot, qemuBinary, accelerator, limits, memoryMib, maxVms, labels,
        stopTimeout, exitDeadline, consoleLogMaxBytes, "", Duration.ofSeconds(3));
  }

  /** Without HTTP endpoints. */
  public AgentConfig(String nodeId, List<String> listen, Path stateDir, Path imageRoot, Path qemuBinary,
      String accelerator, NodeLimits limits, long memoryMib, int maxVms, Map<String, String> labels,
      Duration stopTimeout, Duration exitDeadline, long consoleLogMaxBytes, String advertise, Duration heartbeatInterval) {
    this(nodeId, listen, stateDir, imageRoot, qemuBinary, accelerator, limits, memoryMib, maxVms, labels,
        stopTimeout, exitDeadline, consoleLogMaxBytes, advertise, heartbeatInterval, "", ConfinementSettings.DEFAULT,
        AccessSettings.defaults(), NodeNetworks.defaults());
  }

  /** The same config serving HTTP on {@code address} ("" for none). */
  public AgentConfig withHttpListen(String address) {
    return new AgentConfig(nodeId, listen, stateDir, imageRoot, qemuBinary, accelerator, limits, memoryMib, maxVms,
        labels, stopTimeout, exitDeadline, consoleLogMaxBytes, advertise, heartbeatInterval, address, confinement,
        access, networks);
  }

  /** The same config confining QEMU processes as {@code settings} say. */
  public AgentConfig withConfinement(ConfinementSettings settings) {
    return new AgentConfig(nodeId, listen, stateDir, imageRoot, qemuBinary, accelerator, limits, memoryMib, maxVms,
        labels, stopTimeout, exitDeadline, consoleLogMaxBytes, advertise, heartbeatInterval, httpListen, settings,
        access, networks);
  }

  /** The same config with these access settings. */
  public AgentConfig withAccess(AccessSettings settings) {
    return new AgentConfig(nodeId, listen, stateDir, imageRoot, qemuBinary, accelerator, limits, memoryMib, maxVms,
        labels, stopTimeout, exitDeadline, consoleLogMaxBytes, advertise, heartbeatInterval, httpListen, confinement,
        settings, networks);
  }

  /** The same config with these networks. */
  public AgentConfig withNetworks(NodeNetworks defined) {
    return new AgentConfig(nodeId, listen, stateDir, imageRoot, qemuBinary, accelerator, limits, memoryMib, maxVms,
        labels, stopTimeout, exitDeadline, consoleLogMaxBytes, advertise, heartbeatInterval, httpListen, confinement,
        access, defined);
  }

  /** Checks what a typo could break; the message says what to fix. */
  public AgentConfig validated() {
    require(NODE_ID.matcher(nodeId).matches(), "node id '" + nodeId + "' must match " + NODE_ID.pattern());
    require(!listen.isEmpty(), "at least one listen address is needed (unix:/path or tcp:127.0.0.1:port)");
    require(SAFE_PATH.matcher(stateDir.toString()).matches(),
        "state dir must be an absolute path of letters, digits and ._/- only (it appears in QEMU options): " + stateDir);
    // the longest socket the agent binds is a VM's QMP socket: refused now if a control plane's VM id
    // (a UUID) would not fit; longer ids a client chooses are refused at launch (maxVmIdLength)
    UnixSocketPaths.check("state dir " + stateDir + " is too long for the QMP socket of a VM with a "
        + CONTROL_PLANE_VM_ID_LENGTH + "-character id (a control plane's UUID)",
        VmPaths.of(stateDir, "x".repeat(CONTROL_PLANE_VM_ID_LENGTH)).qmpSocket());
    listen.forEach(address -> Endpoint.parse("listen address", address));
    require(imageRoot.isAbsolute(), "image root must be an absolute path: " + imageRoot);
    require(List.of("auto", "kvm", "tcg").contains(accelerator), "accelerator must be auto, kvm or tcg, not " + accelerator);
    require(memoryMib >= 16, "memory capacity must be at least 16 MiB");
    require(maxVms >= 1, "max VMs must be at least 1");
    require(!stopTimeout.isNegative() && !exitDeadline.isNegative() && !exitDeadline.isZero(), "timeouts must be positive");
    require(consoleLogMaxBytes >= 4096, "console log bound must be at least 4096 bytes");
    require(advertise.isEmpty() || Endpoint.valid(advertise),
        "advertise address must be " + Endpoint.SYNTAX + ", not " + advertise);
    require(heartbeatInterval.toMillis() >= 100, "heartbeat interval must be at least 100 ms");
    if (!httpListen.isEmpty()) {
      Endpoint.parse("HTTP listen address", httpListen);
    }
    return this;
  }

  /**
   * The longest VM id whose QMP socket, {@code <stateDir>/vms/<id>/qmp.sock}, fits in a UNIX socket
   * path: the id pattern's 63 characters, or fewer under a long state dir.
   */
  public int maxVmIdLength() {
    int room = UnixSocketPaths.MAX_BYTES - UnixSocketPaths.length(VmPaths.of(stateDir, "x").qmpSocket()) + 1;
    return Math.max(0, Math.min(SpecValidator.MAX_VM_ID_LENGTH, room));
  }

  private static void require(boolean ok, String message) {
    if (!ok) {
      throw new IllegalArgumentException(message);
    }
  }

  public static AgentConfig defaults() {
    return new AgentConfig("node-1", List.of(DEFAULT_LISTEN), Path.of("/var/lib/mpqemu/agent"),
        Path.of("/var/lib/mpqemu/images"), Path.of("qemu-system-x86_64"), "auto", NodeLimits.defaults(),
        Runtime.getRuntime().maxMemory() > 0 ? totalHostMemoryMib() : 4096, 64, Map.of(),
        Duration.ofSeconds(30), Duration.ofSeconds(5), 1024 * 1024);
  }

  /** Overlays the keys present in {@code json} on this config. */
  public AgentConfig merge(JsonObject json) {
    NodeLimits l = limits;
    if (json.containsKey("allowedDrivers") || json.containsKey("maxMemoryMibPerVm") || json.containsKey("maxVcpusPerVm")
        || json.containsKey("maxDevicesPerVm") || json.containsKey("maxDisksPerDevice")
        || json.containsKey("maxNicsPerVm")) {
      Set<String> drivers = l.allowedDrivers();
      if (json.containsKey("allowedDrivers")) {
        drivers = new LinkedHashSet<>();
        for (Object d : json.getJsonArray("allowedDrivers")) {
          drivers.add((String) d);
        }
      }
      l = new NodeLimits(drivers, json.getInteger("maxMemoryMibPerVm", l.maxMemoryMibPerVm()),
          json.getInteger("maxVcpusPerVm", l.maxVcpusPerVm()), json.getInteger("maxDevicesPerVm", l.maxDevicesPerVm()),
          json.getInteger("maxDisksPerDevice", l.maxDisksPerDevice()), json.getInteger("maxNicsPerVm", l.maxNicsPerVm()));
    }
    List<String> lst = listen;
    if (json.containsKey("listen")) {
      lst = new ArrayList<>();
      for (Object a : json.getJsonArray("listen", new JsonArray())) {
        lst.add((String) a);
      }
    }
    Map<String, String> lbl = labels;
    if (json.containsKey("labels")) {
      lbl = new LinkedHashMap<>();
      for (Map.Entry<String, Object> e : json.getJsonObject("labels")) {
        lbl.put(e.getKey(), String.valueOf(e.getValue()));
      }
    }
    return new AgentConfig(
        json.getString("nodeId", nodeId), lst,
        json.containsKey("stateDir") ? Path.of(json.getString("stateDir")) : stateDir,
        json.containsKey("imageRoot") ? Path.of(json.getString("imageRoot")) : imageRoot,
        json.containsKey("qemuBinary") ? Path.of(json.getString("qemuBinary")) : qemuBinary,
        json.getString("accelerator", accelerator), l,
        json.getLong("memoryMib", memoryMib), json.getInteger("maxVms", maxVms), lbl,
        json.containsKey("stopTimeoutSeconds") ? Duration.ofSeconds(json.getLong("stopTimeoutSeconds")) : stopTimeout,
        json.containsKey("exitDeadlineSeconds") ? Duration.ofSeconds(json.getLong("exitDeadlineSeconds")) : exitDeadline,
        json.getLong("consoleLogMaxBytes", consoleLogMaxBytes),
        json.getString("advertise", advertise),
        json.containsKey("heartbeatMillis") ? Duration.ofMillis(json.getLong("heartbeatMillis")) : heartbeatInterval,
        json.getString("httpListen", httpListen), mergeConfinement(json), mergeAccess(json),
        json.containsKey("networks") ? networks.merge(json.getJsonObject("networks")) : networks);
  }

  /**
   * "operatorGroups", "viewerGroups", "httpAllowedHosts": arrays of names; "insecurePlaintextTcp": boolean;
   * "maxStreamsPerCaller": number.
   */
  private AccessSettings mergeAccess(JsonObject json) {
    return new AccessSettings(strings(json, "operatorGroups", access.operatorGroups()),
        strings(json, "viewerGroups", access.viewerGroups()),
        json.getBoolean("insecurePlaintextTcp", access.insecureTcp()),
        strings(json, "httpAllowedHosts", access.httpHosts()),
        json.getInteger("maxStreamsPerCaller", access.maxStreamsPerCaller()));
  }

  private static List<String> strings(JsonObject json, String key, List<String> otherwise) {
    if (!json.containsKey(key)) {
      return otherwise;
    }
    List<String> values = new ArrayList<>();
    for (Object v : json.getJsonArray(key)) {
      require(v instanceof String, key + " must be an array of strings");
      values.add((String) v);
    }
    return values;
  }

  /** "confinement": "on"|"off", "uidRange": "FIRST-LAST". */
  private ConfinementSettings mergeConfinement(JsonObject json) {
    ConfinementSettings c = confinement;
    if (json.containsKey("confinement")) {
      String mode = json.getString("confinement");
      require(mode.equals("on") || mode.equals("off"), "confinement must be on or off, not " + mode);
      c = c.withEnabled(mode.equals("on"));
    }
    if (json.containsKey("uidRange")) {
      c = c.withUids(UidRange.parse(json.getString("uidRange")));
    }
    return c;
  }

  private static long totalHostMemoryMib() {
    java.lang.management.OperatingSystemMXBean os = java.lang.management.ManagementFactory.getOperatingSystemMXBean();
    if (os instanceof com.sun.management.OperatingSystemMXBean sun) {
      return sun.getTotalMemorySize() / (1024 * 1024);
    }
    return 4096;
  }
}
