package io.mpqemu.agent.fence;

/** A command the fence did not let through; the message is for the operator and the caller. */
public final class FenceException extends RuntimeException {

  public enum Kind {
    /** The command's epoch is older than one this node has seen: a newer control plane leads. */
    STALE,
    /** The command carries no epoch, and this node has seen one: a control plane with leadership leads. */
    NO_EPOCH,
    /** The command's epoch is new, and could not be recorded: the command did not run. */
    UNRECORDED
  }

  private final Kind kind;
  private final long epoch;

  private FenceException(Kind kind, long epoch, String message, Throwable cause) {
    super(message, cause);
    this.kind = kind;
    this.epoch = epoch;
  }

  static FenceException stale(long epoch, long seen) {
    return new FenceException(Kind.STALE, epoch, "leader epoch " + epoch + " is older than epoch " + seen
        + " this node has seen: a newer control plane leads; this command is refused (fencing)", null);
  }

  static FenceException noEpoch(long seen) {
    return new FenceException(Kind.NO_EPOCH, 0, "this command carries no leader epoch, and this node has seen epoch "
        + seen + ": a control plane that holds leadership leads it; commands without an epoch are refused (fencing)."
        + " Send the current epoch (node-agent client --leader-epoch), or reset the node's epoch as the README says",
        null);
  }

  static FenceException unrecorded(long epoch, Throwable cause) {
    return new FenceException(Kind.UNRECORDED, epoch, "leader epoch " + epoch
        + " is new to this node and could not be recorded; the command did not run: retry (the agent's log has"
        + " the detail)", cause);
  }

  public Kind kind() {
    return kind;
  }

  /** The epoch the refused command carried (0 for none). */
  public long epoch() {
    return epoch;
  }
}
