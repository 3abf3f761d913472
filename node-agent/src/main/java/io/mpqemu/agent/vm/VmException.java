package io.mpqemu.agent.vm;

/** A request about a VM that cannot be carried out; the message is a sentence for the caller. */
public final class VmException extends RuntimeException {

  /** What went wrong, which the API edge maps to a status code. */
  public enum Kind {
    INVALID_SPEC,
    NOT_FOUND,
    ALREADY_EXISTS,
    WRONG_PHASE,
    NO_CAPACITY,
    IMAGE_UNAVAILABLE,
    IMAGE_FORBIDDEN,
    LAUNCH_FAILED,
    UNAVAILABLE
  }

  private final Kind kind;

  public VmException(Kind kind, String message) {
    super(message, null, false, false);
    this.kind = kind;
  }

  public Kind kind() {
    return kind;
  }
}
