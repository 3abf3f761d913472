package io.mpqemu.controlplane.cli;

/** A call that got no gRPC answer at all: nothing listens, or the connection broke. Exit code 3. */
final class UnreachableException extends RuntimeException {

  UnreachableException(Throwable cause) {
    super(describe(cause), cause, false, false);
  }

  /** The innermost message, which names the actual problem ("Connection refused", "No such file"). */
  private static String describe(Throwable e) {
    Throwable root = e;
    while (root.getCause() != null && root.getCause() != root) {
      root = root.getCause();
    }
    if (root instanceof java.io.FileNotFoundException && root.getMessage() == null) {
      return "no socket at that path";
    }
    String message = root.getMessage();
    return message == null || message.isBlank() ? root.getClass().getSimpleName() : message;
  }
}
