package io.mpqemu.controlplane.store;

/** A change the store refused, or a store that failed; the message is a sentence for the operator. */
public final class StoreException extends RuntimeException {

  /** Why. */
  public enum Kind {
    CONFLICT,
    UNAVAILABLE
  }

  private final Kind kind;

  public StoreException(Kind kind, String message, Throwable cause) {
    super(message, cause);
    this.kind = kind;
  }

  public Kind kind() {
    return kind;
  }
}
