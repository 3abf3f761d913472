package io.mpqemu.agent.qemu;

/** QEMU answered a QMP command with an error. */
public final class QmpException extends RuntimeException {

  private static final long serialVersionUID = 1L;

  private final String errorClass;
  private final String description;

  /**
   * @param errorClass QMP's error class, as "GenericError" or "CommandNotFound"
   * @param description QMP's human-readable description
   */
  public QmpException(String errorClass, String description) {
    this("a QMP command", errorClass, description);
  }

  /** The same, naming the refused command in the message. */
  public QmpException(String command, String errorClass, String description) {
    super("QEMU refused " + command + ": " + errorClass + ": " + description);
    this.errorClass = errorClass;
    this.description = description;
  }

  public String errorClass() {
    return errorClass;
  }

  public String description() {
    return description;
  }
}
