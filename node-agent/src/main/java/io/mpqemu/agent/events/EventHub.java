package io.mpqemu.agent.events;

import io.mpqemu.v1.VmEvent;
import io.mpqemu.wire.BusAddresses;
import io.mpqemu.wire.EventJson;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import java.util.ArrayDeque;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Publishes every lifecycle event on the event bus address {@value BusAddresses#VM_EVENTS} (protobuf JSON form of
 * VmEvent) and hands it to the local watchers (the agent's gRPC WatchEvents streams). Call it from
 * the agent's event loop.
 */
public final class EventHub {

  private static final Logger LOG = LoggerFactory.getLogger(EventHub.class);

  /** Events kept in memory for watchers that ask for the recent past. */
  public static final int RECENT = 1024;

  private final Vertx vertx;
  private final Map<Long, Consumer<VmEvent>> watchers = new ConcurrentHashMap<>();
  /** The agent's own parts that follow events (not subscribers: not counted, never dropped). */
  private final List<Consumer<VmEvent>> listeners = new java.util.concurrent.CopyOnWriteArrayList<>();
  private final ArrayDeque<VmEvent> recent = new ArrayDeque<>(RECENT);
  private final AtomicLong nextId = new AtomicLong();

  private final io.mpqemu.fleet.BusSignatures.Signer signer;

  public EventHub(Vertx vertx) {
    this(vertx, null);
  }

  /** In a fleet, every event goes out signed by this agent ({@code signer}; null on a local bus). */
  public EventHub(Vertx vertx, io.mpqemu.fleet.BusSignatures.Signer signer) {
    this.vertx = vertx;
    this.signer = signer;
  }

  public void publish(VmEvent event) {
    LOG.info("vm={} name={} node={} event={} phase={} reason={}: {}", event.getVmId(), event.getVmName(),
        event.getNode(), event.getType(), event.getPhase(), event.getReason(), event.getMessage());
    JsonObject body = EventJson.toJson(event);
    if (signer == null) {
      vertx.eventBus().publish(BusAddresses.VM_EVENTS, body);
    } else {
      vertx.eventBus().publish(BusAddresses.VM_EVENTS, body, signer.sign(BusAddresses.VM_EVENTS, body, false));
    }
    if (recent.size() == RECENT) {
      recent.removeFirst();
    }
    recent.addLast(event);
    for (Consumer<VmEvent> listener : listeners) {
      try {
        listener.accept(event);
      } catch (RuntimeException e) {
        LOG.warn("vm={} node={} event {}: a part of the agent failed on it: {}", event.getVmId(), event.getNode(),
            event.getType(), e.toString());
      }
    }
    for (Map.Entry<Long, Consumer<VmEvent>> watcher : watchers.entrySet()) {
      try {
        watcher.getValue().accept(event);
      } catch (RuntimeException e) {
        // a broken watcher must never fail the VM command that produced the event
        LOG.warn("event watcher {} failed ({}); it is dropped", watcher.getKey(), e.getMessage());
        watchers.remove(watcher.getKey());
      }
    }
  }

  /**
   * Registers a watcher, first handing it the recent events when asked; the returned runnable
   * unregisters it. Call on the event loop, where publish runs too, so nothing slips between.
   */
  public Runnable watch(boolean replayRecent, Consumer<VmEvent> watcher) {
    if (replayRecent) {
      List.copyOf(recent).forEach(watcher);
    }
    long id = nextId.incrementAndGet();
    watchers.put(id, watcher);
    return () -> watchers.remove(id);
  }

  /**
   * Registers a part of the agent that follows every event from now on (the consoles): it is no subscriber,
   * so {@link #watcherCount} leaves it out, and a failure of it is logged, never unregisters it. The
   * returned runnable unregisters it. Call on the event loop.
   */
  public Runnable listen(Consumer<VmEvent> listener) {
    listeners.add(listener);
    return () -> listeners.remove(listener);
  }

  /** The watchers registered now: each open WatchEvents stream, and the agent's own metrics watcher. */
  public int watcherCount() {
    return watchers.size();
  }
}
