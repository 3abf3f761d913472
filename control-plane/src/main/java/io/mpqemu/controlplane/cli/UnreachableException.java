package io.mpqemu.controlplane.cli;

import io.mpqemu.errors.Failures;
import java.io.FileNotFoundException;

/** A call that got no gRPC answer at all: nothing listens, or the connection broke. Exit code 3. */
final class UnreachableException extends RuntimeException {

  UnreachableException(Throwable cause) {
    super(describe(cause), cause, false, false);
  }

  /** The innermost message, which names the actual problem ("Connection refused", "no socket at that path"). */
  private static String describe(Throwable e) {
    String message = Failures.rootMessage(e);
    return message.equals(FileNotFoundException.class.getSimpleName()) ? "no socket at that path" : message;
  }
}
