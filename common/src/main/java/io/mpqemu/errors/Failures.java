package io.mpqemu.errors;

/** A failure as one line for an operator, without a stack trace. */
public final class Failures {

  private Failures() {}

  /** The first message on the cause chain; the class name when no cause has one. */
  public static String describe(Throwable e) {
    Throwable t = e;
    while (t.getMessage() == null && t.getCause() != null && t.getCause() != t) {
      t = t.getCause();
    }
    return t.getMessage() != null ? t.getMessage() : t.getClass().getSimpleName();
  }

  /**
   * The innermost cause's message, which names the actual problem of a failed connection ("Connection
   * refused", "No such file or directory"); its class name when it has none.
   */
  public static String rootMessage(Throwable e) {
    Throwable root = e;
    while (root.getCause() != null && root.getCause() != root) {
      root = root.getCause();
    }
    String message = root.getMessage();
    return message == null || message.isBlank() ? root.getClass().getSimpleName() : message;
  }
}
