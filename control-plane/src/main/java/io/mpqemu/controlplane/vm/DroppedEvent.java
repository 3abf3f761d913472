package io.mpqemu.controlplane.vm;

/**
 * An agent's event the reconciler did not apply: it changed no state and left no row in the event
 * log. The caller (the bus consumer) logs it, once per burst, and counts it.
 *
 * @param reason why
 * @param node the node that sent it (in a fleet, the node whose certificate signed it)
 * @param message one line for the log, naming the sending node, the VM and where the VM is placed
 */
public record DroppedEvent(Reason reason, String node, String message) {

  /** Why an event was dropped; {@link #label} is the metric's {@code reason} label. */
  public enum Reason {
    /** The VM is placed on another node (or none), and this control plane is not launching it on the sender. */
    OTHER_NODES_VM("other_nodes_vm"),
    /** The store knows no VM with that id: deleted since, or never created by this control plane. */
    UNKNOWN_VM("unknown_vm");

    private final String label;

    Reason(String label) {
      this.label = label;
    }

    public String label() {
      return label;
    }
  }
}
