package io.mpqemu.controlplane.reconcile;

import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;

/**
 * What the reconciler has under way, so that no two steps act on one VM at once: commands in flight,
 * launches in flight (and the node each was sent to), and restarts a back-off timer will make.
 */
final class InFlight {

  private final Set<String> busy = new HashSet<>();
  private final Map<String, String> launching = new HashMap<>();
  private final Set<String> restartsPending = new HashSet<>();

  /** A command to the VM's node is in flight: reconciliation leaves it alone. */
  boolean busy(String vmId) {
    return busy.contains(vmId);
  }

  void begin(String vmId) {
    busy.add(vmId);
  }

  void end(String vmId) {
    busy.remove(vmId);
  }

  /** A launch on {@code node} is in flight: that node speaks for the VM meanwhile, wherever it is placed. */
  void launching(String vmId, String node) {
    busy.add(vmId);
    launching.put(vmId, node);
  }

  void launched(String vmId, String node) {
    busy.remove(vmId);
    launching.remove(vmId, node);
  }

  /** The node a launch of the VM is in flight to, or null. */
  String launchNode(String vmId) {
    return launching.get(vmId);
  }

  /** A back-off timer will try the VM again: nothing else launches it meanwhile. */
  boolean restartPending(String vmId) {
    return restartsPending.contains(vmId);
  }

  void restartScheduled(String vmId) {
    restartsPending.add(vmId);
  }

  void restartDue(String vmId) {
    restartsPending.remove(vmId);
  }

  /** The VM is gone: nothing of it stays under way. */
  void forget(String vmId) {
    busy.remove(vmId);
    launching.remove(vmId);
  }
}
