package io.mpqemu.agent.bench;

import io.mpqemu.agent.AgentConfig;
import io.mpqemu.agent.NodeAgentVerticle;
import io.mpqemu.agent.events.EventHub;
import io.mpqemu.spec.NodeLimits;
import io.mpqemu.wire.BusAddresses;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.json.JsonObject;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

/**
 * A node agent deployed in this JVM, configured as the e2e {@code AgentHarness} configures it (that
 * class is package-private to {@code io.mpqemu.agent.e2e}), with gRPC over its UNIX socket and an
 * event-bus consumer that stamps every event with {@link System#nanoTime()} as it arrives.
 */
final class InProcessAgent implements AutoCloseable {

  /** One event as it arrived on the bus. */
  record Arrival(long nanos, JsonObject event) {
    String type() {
      return event.getString("type", "");
    }

    String processName() {
      JsonObject p = event.getJsonObject("process");
      return p == null ? "" : p.getString("name", "");
    }
  }

  final Path stateDir;
  final Path imageRoot;
  final Path socket;
  final AgentClient client;
  private final Vertx vertx;
  private final Map<String, List<Arrival>> arrivals = new ConcurrentHashMap<>();

  InProcessAgent(Path root, String accelerator) {
    stateDir = root.resolve("agent-state");
    imageRoot = root.resolve("images");
    socket = root.resolve("agent.sock");
    vertx = Vertx.builder().with(new VertxOptions().setPreferNativeTransport(true)).build();
    vertx.eventBus().<JsonObject>consumer(BusAddresses.VM_EVENTS, m -> {
      long now = System.nanoTime();
      JsonObject e = m.body();
      arrivals.computeIfAbsent(e.getString("vmId", ""), k -> new CopyOnWriteArrayList<>()).add(new Arrival(now, e));
    });
    AgentConfig config = new AgentConfig("bench-node", List.of("unix:" + socket), stateDir, imageRoot,
        Path.of("qemu-system-x86_64"), accelerator, NodeLimits.defaults(), 4096, 32, Map.of(),
        Duration.ofSeconds(30), Duration.ofSeconds(5), 1024 * 1024);
    AgentClient.await(vertx.deployVerticle(new NodeAgentVerticle(config)));
    client = new AgentClient(vertx, socket);
  }

  Vertx vertx() {
    return vertx;
  }

  /** The events of a VM in arrival order. */
  List<Arrival> arrivals(String vmId) {
    return arrivals.getOrDefault(vmId, List.of());
  }

  /** The first arrival of an event type (and process name, when not null) of a VM, or null. */
  Arrival first(String vmId, String type, String processName) {
    for (Arrival a : arrivals(vmId)) {
      if (a.type().equals(type) && (processName == null || a.processName().equals(processName))) {
        return a;
      }
    }
    return null;
  }

  void forget(String vmId) {
    arrivals.remove(vmId);
  }

  @Override
  public void close() throws Exception {
    vertx.close().toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
  }
}
