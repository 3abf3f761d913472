package io.mpqemu.dist;

import io.mpqemu.agent.AgentConfig;
import io.mpqemu.agent.NodeAgentVerticle;
import io.mpqemu.controlplane.EmbeddedAgent;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The node agent of embedded mode: the same {@link NodeAgentVerticle} as a standalone agent, on the
 * control plane's local event bus, listening on {@code <data-dir>/agent.sock}, its state in
 * {@code <data-dir>/agent} and its images in {@code <data-dir>/images} unless told otherwise.
 */
final class EmbeddedNodeAgent implements EmbeddedAgent {

  /** The label that marks the node as an embedded agent's. */
  static final String LABEL = "mpqemu.io/embedded";

  @Override
  public Future<?> deploy(Vertx vertx, Settings settings) {
    AgentConfig config;
    try {
      config = config(settings);
    } catch (Exception e) {
      return Future.failedFuture(e);
    }
    return vertx.deployVerticle(new NodeAgentVerticle(config));
  }

  static AgentConfig config(Settings s) throws UnknownHostException {
    Path data = s.dataDir();
    AgentConfig base = AgentConfig.defaults();
    return new AgentConfig(s.nodeId() != null ? s.nodeId() : hostNodeId(), List.of("unix:" + data.resolve("agent.sock")),
        data.resolve("agent"), s.imageRoot() != null ? s.imageRoot() : data.resolve("images"), base.qemuBinary(),
        s.accelerator(), base.limits(), base.memoryMib(), base.maxVms(), Map.of(LABEL, "true"),
        base.stopTimeout(), base.exitDeadline(), base.consoleLogMaxBytes()).validated();
  }

  /** This host's name as a node id: lower case, [a-z0-9-] only, at most 63 characters. */
  static String hostNodeId() throws UnknownHostException {
    String host = InetAddress.getLocalHost().getHostName().toLowerCase(Locale.ROOT).replaceAll("[^a-z0-9-]", "-");
    host = host.replaceAll("^-+|-+$", "");
    return host.isEmpty() ? "local" : host.length() > 63 ? host.substring(0, 63) : host;
  }
}
