package io.mpqemu.agent.vm;

import io.mpqemu.agent.qemu.Qmp;
import io.mpqemu.v1.EventType;
import io.mpqemu.v1.Phase;
import io.vertx.core.json.JsonObject;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Takes the QMP session of a VM's main QEMU and turns its events into VM state and events. */
final class QmpEvents {

  /** Logged under the supervisor's name, as before the supervisor was split. */
  private static final Logger LOG = LoggerFactory.getLogger(VmSupervisor.class);

  private final Vm vm;
  private final VmEvents events;

  QmpEvents(Vm vm, VmEvents events) {
    this.vm = vm;
    this.events = events;
  }

  /** The session becomes the VM's; its events are handled from now on. */
  void attach(Qmp client) {
    vm.attach(client);
    client.eventHandler(this::onEvent);
  }

  void onEvent(JsonObject event) {
    Lifecycle state = vm.state();
    if (state.detached()) {
      return;
    }
    String name = event.getString("event", "");
    JsonObject data = event.getJsonObject("data", new JsonObject());
    switch (name) {
      case "SHUTDOWN" -> {
        if (data.getBoolean("guest", false)) {
          state.guestShutDown();
          events.emit(EventType.GUEST_SHUTDOWN, "GuestShutdown", "the guest shut down (" + data.getString("reason", "") + ")", null);
        }
      }
      case "RESET" -> events.emit(EventType.GUEST_RESET, "GuestReset",
          "the guest reset (" + data.getString("reason", "") + ")", null);
      case "STOP" -> {
        if (state.phase() == Phase.PHASE_RUNNING && state.activity() == Lifecycle.Activity.IDLE) {
          state.paused();
          events.emit(EventType.GUEST_PAUSED, "GuestPaused", "guest CPUs stopped", null);
        }
      }
      case "RESUME" -> {
        if (state.phase() == Phase.PHASE_PAUSED) {
          state.resumed();
          events.emit(EventType.GUEST_RESUMED, "GuestResumed", "guest CPUs running again", null);
        }
      }
      case "GUEST_PANICKED" -> {
        state.guestPanicked();
        events.emit(EventType.GUEST_PANICKED, "GuestPanicked", "the guest panicked: " + data.encode(), null);
      }
      default -> LOG.debug("vm={} qmp event {}", vm.id(), name);
    }
  }
}
