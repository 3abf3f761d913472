package io.mpqemu.controlplane.store;

/**
 * A change the store refused, or a store that failed; the message is a sentence for the operator (it may
 * name files and SQL), {@link #callerMessage} what an API caller may be told.
 */
public final class StoreException extends RuntimeException {

  /** Why. */
  public enum Kind {
    /** The change clashes with stored data (a taken name or id, a newer revision): nothing of it was applied. */
    CONFLICT,
    /** The store cannot be reached or used now (connection lost, server down, busy, closed); retrying later may work. */
    UNAVAILABLE,
    /** The store could not do what it was asked (a broken schema, a row it cannot read, a value it cannot keep): a bug or damage. */
    FAILED
  }

  private final Kind kind;
  private final String callerMessage;

  public StoreException(Kind kind, String message, Throwable cause) {
    this(kind, message, null, cause);
  }

  /** With what an API caller may read: no path, no SQL (null: nothing beyond the kind). */
  public StoreException(Kind kind, String message, String callerMessage, Throwable cause) {
    super(message, cause);
    this.kind = kind;
    this.callerMessage = callerMessage;
  }

  public Kind kind() {
    return kind;
  }

  /** What an API caller may be told of this failure, or null when only the operator's log may say it. */
  public String callerMessage() {
    return callerMessage;
  }
}
