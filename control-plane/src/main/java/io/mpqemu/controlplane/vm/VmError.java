package io.mpqemu.controlplane.vm;

/**
 * A request the control plane refuses, with a sentence that tells the caller what to fix. Its kind says
 * what went wrong in the domain's words; {@code api/} alone turns a kind into a gRPC status code.
 */
public final class VmError extends RuntimeException {

  /** What went wrong. */
  public enum Kind {
    /** The request itself is malformed or out of bounds. */
    INVALID,
    /** No VM (or other named thing) by that reference. */
    NOT_FOUND,
    /** A VM by that name, or that request id for another spec, exists already. */
    EXISTS,
    /** The VM is not in a state (or at a revision) where this request applies. */
    PRECONDITION,
    /** Something the request needs (a node, the store) cannot be reached now; retrying later may work. */
    UNAVAILABLE,
    /** The caller's quota does not allow it. */
    QUOTA,
    /** A position (an event seq) outside what is kept. */
    OUT_OF_RANGE
  }

  private final Kind kind;

  public VmError(Kind kind, String message) {
    super(message, null, false, false);
    this.kind = kind;
  }

  public Kind kind() {
    return kind;
  }
}
