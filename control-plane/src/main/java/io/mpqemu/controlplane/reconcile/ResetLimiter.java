package io.mpqemu.controlplane.reconcile;

import io.mpqemu.v1.EventType;
import io.mpqemu.v1.VmEvent;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.function.Consumer;

/**
 * Keeps a guest that resets in a loop from flooding the event log: per VM, the first GUEST_RESET is
 * recorded at once; the ones that follow within {@link #WINDOW} are counted, and when the window ends the
 * last of them is recorded once with {@code repeats} set to the count. Events already recorded are never
 * rewritten. While resets keep coming, one event per window.
 */
final class ResetLimiter {

  static final Duration WINDOW = Duration.ofSeconds(10);

  /** The resets of one VM held back in the current window. */
  private static final class Window {
    int held;
    VmEvent last;
  }

  private final Timers timers;
  private final Map<String, Window> windows = new HashMap<>();

  ResetLimiter(Timers timers) {
    this.timers = timers;
  }

  /**
   * Passes {@code e} to {@code record} now, or holds it back (answering false) when it is a GUEST_RESET
   * within its VM's window; held-back resets reach {@code record} as one event when the window ends.
   */
  boolean admit(VmEvent e, Consumer<VmEvent> record) {
    if (e.getType() != EventType.GUEST_RESET) {
      return true;
    }
    Window open = windows.get(e.getVmId());
    if (open != null) {
      open.held++;
      open.last = e;
      return false;
    }
    openWindow(e.getVmId(), record);
    return true;
  }

  private void openWindow(String vmId, Consumer<VmEvent> record) {
    Window window = new Window();
    windows.put(vmId, window);
    timers.schedule(WINDOW, () -> {
      windows.remove(vmId);
      if (window.held > 0) {
        record.accept(window.last.toBuilder().setRepeats(window.held)
            .setMessage("the guest reset " + window.held + " more time(s) in the last " + WINDOW.toSeconds()
                + " s; one event per " + WINDOW.toSeconds() + " s while it keeps resetting")
            .build());
        openWindow(vmId, record); // still resetting: the next window counts on
      }
    });
  }

  /** The VM is gone: nothing held back for it is recorded. */
  void forget(String vmId) {
    windows.remove(vmId);
  }
}
