package io.mpqemu.agent.console;

/** Why a session cannot attach; the kind maps to a status code in the API layer. */
public final class ConsoleException extends RuntimeException {

  private static final long serialVersionUID = 1L;

  public enum Kind {
    /** No such VM on this node. */
    NOT_FOUND,
    /** The VM does not run, has no console socket, or the console has a writer. */
    PRECONDITION,
    /** The console socket could not be reached although the VM runs. */
    UNAVAILABLE
  }

  private final Kind kind;

  public ConsoleException(Kind kind, String message) {
    super(message, null, false, false);
    this.kind = kind;
  }

  public Kind kind() {
    return kind;
  }
}
