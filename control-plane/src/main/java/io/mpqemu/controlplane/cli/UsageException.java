package io.mpqemu.controlplane.cli;

/** The user asked for something the client cannot send: a bad flag value or spec file. Exit code 2. */
final class UsageException extends RuntimeException {

  UsageException(String message) {
    super(message, null, false, false);
  }
}
