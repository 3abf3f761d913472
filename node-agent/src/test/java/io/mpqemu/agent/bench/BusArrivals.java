package io.mpqemu.agent.bench;

import io.mpqemu.wire.BusAddresses;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;

/** Every VM event published on a Vert.x's event bus, stamped with {@link System#nanoTime()} as it arrives. */
final class BusArrivals {

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

  private final Map<String, List<Arrival>> arrivals = new ConcurrentHashMap<>();

  BusArrivals(Vertx vertx) {
    vertx.eventBus().<JsonObject>consumer(BusAddresses.VM_EVENTS, m -> {
      long now = System.nanoTime();
      JsonObject e = m.body();
      arrivals.computeIfAbsent(e.getString("vmId", ""), k -> new CopyOnWriteArrayList<>()).add(new Arrival(now, e));
    });
  }

  /** The events of a VM in arrival order. */
  List<Arrival> of(String vmId) {
    return arrivals.getOrDefault(vmId, List.of());
  }

  /** The first arrival of an event type (and process name, when not null) of a VM, or null. */
  Arrival first(String vmId, String type, String processName) {
    for (Arrival a : of(vmId)) {
      if (a.type().equals(type) && (processName == null || a.processName().equals(processName))) {
        return a;
      }
    }
    return null;
  }

  void forget(String vmId) {
    arrivals.remove(vmId);
  }
}
