package io.mpqemu.errors;

import io.vertx.grpc.common.GrpcStatus;
import io.vertx.grpc.server.StatusException;
import java.util.HexFormat;
import java.util.concurrent.ThreadLocalRandom;
import java.util.regex.Pattern;
import org.slf4j.Logger;

/**
 * Answers for errors a caller cannot act on (a store that fails, a bug): the caller gets a short id
 * and no detail, since exception messages name host paths, SQL and other insides; the service's
 * log gets one ERROR line with the same id, the detail and the stack trace. An operator given the id
 * finds the line.
 */
public final class InternalErrors {

  /** An id as answers and log lines carry it: 8 lowercase hex digits. */
  public static final Pattern ID = Pattern.compile("[0-9a-f]{8}");

  /** The caller's message; its id is group 1. */
  public static final Pattern MESSAGE =
      Pattern.compile("internal error \\(id ([0-9a-f]{8})\\); the service's log has the detail");

  private InternalErrors() {}

  /**
   * Logs {@code failure} at ERROR on {@code log} under a new id, and returns the message for the
   * caller: {@code internal error (id 3f9a02c1); the service's log has the detail}.
   *
   * @param context what the service was doing, for the log line only (e.g. "answering CreateVm")
   */
  public static String report(Logger log, String context, Throwable failure) {
    String id = newId();
    log.error("internal error id={} while {}: {}", id, context, Failures.describe(failure), failure);
    return message(id);
  }

  /** {@link #report}, as an INTERNAL status. */
  public static StatusException status(Logger log, String context, Throwable failure) {
    return new StatusException(GrpcStatus.INTERNAL, report(log, context, failure));
  }

  /** The caller's message for {@code id}. */
  static String message(String id) {
    return "internal error (id " + id + "); the service's log has the detail";
  }

  /** A fresh id: 32 random bits, enough to tell apart the errors of one log. */
  static String newId() {
    return HexFormat.of().toHexDigits(ThreadLocalRandom.current().nextInt());
  }
}
