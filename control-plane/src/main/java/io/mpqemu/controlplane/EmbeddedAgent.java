package io.mpqemu.controlplane;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.nio.file.Path;

/**
 * A node agent for this host, deployed in the control plane's own JVM on its local event bus
 * ({@code serve --embedded-agent}). The control plane knows agents only through gRPC and the bus, so
 * it does not build one: the module that owns embedded mode ({@code dist}) supplies this.
 */
public interface EmbeddedAgent {

  /**
   * Deploys the agent on {@code vertx}; the future completes once it listens on its UNIX socket under
   * {@code settings.dataDir()} and has announced itself on the bus.
   */
  Future<?> deploy(Vertx vertx, Settings settings);

  /**
   * What {@code serve} was told about the agent.
   *
   * @param dataDir the control plane's data directory: the agent keeps its state and socket in it
   * @param imageRoot the agent's image root; null for {@code <dataDir>/images}
   * @param nodeId the agent's node id; null for this host's name
   * @param accelerator {@code auto}, {@code kvm} or {@code tcg}
   */
  record Settings(Path dataDir, Path imageRoot, String nodeId, String accelerator) {}
}
