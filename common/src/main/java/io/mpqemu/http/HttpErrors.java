package io.mpqemu.http;

import io.mpqemu.errors.InternalErrors;
import io.mpqemu.grpc.GrpcCallException;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.json.JsonObject;
import io.vertx.grpc.common.GrpcStatus;
import io.vertx.grpc.server.StatusException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Errors as {@code {"error": {"code": "NOT_FOUND", "message": "..."}}}: the code is the gRPC status
 * name the same request gets over gRPC, the HTTP status its usual counterpart.
 */
public final class HttpErrors {

  private static final Logger LOG = LoggerFactory.getLogger(HttpErrors.class);

  private HttpErrors() {}

  public static StatusException invalid(String message) {
    return new StatusException(GrpcStatus.INVALID_ARGUMENT, message);
  }

  /**
   * Answers with the error a failure stands for; does nothing when the answer is already on its way.
   * A failure that is neither a status nor another service's answer is an internal error: the caller
   * gets an id, the log the detail.
   */
  public static void send(HttpServerResponse response, Throwable failure) {
    GrpcStatus status;
    String message;
    if (failure instanceof StatusException s) {
      status = s.status();
      message = s.message() == null ? "" : s.message();
    } else if (failure instanceof GrpcCallException g) {
      status = g.status();
      message = g.serverMessage();
    } else {
      status = GrpcStatus.INTERNAL;
      message = InternalErrors.report(LOG, "answering an HTTP request", failure);
    }
    send(response, httpStatus(status), status.name(), message);
  }

  public static void send(HttpServerResponse response, int httpStatus, String code, String message) {
    if (response.headWritten() || response.ended() || response.closed()) {
      return;
    }
    JsonObject body = new JsonObject().put("error", new JsonObject().put("code", code).put("message", message));
    response.setStatusCode(httpStatus).putHeader("content-type", "application/json").end(body.encode() + "\n");
  }

  public static int httpStatus(GrpcStatus status) {
    return switch (status) {
      case OK -> 200;
      case INVALID_ARGUMENT, OUT_OF_RANGE -> 400;
      case UNAUTHENTICATED -> 401;
      case PERMISSION_DENIED -> 403;
      case NOT_FOUND -> 404;
      case ALREADY_EXISTS, ABORTED -> 409;
      case FAILED_PRECONDITION -> 412;
      case RESOURCE_EXHAUSTED -> 429;
      case CANCELLED -> 499;
      case UNIMPLEMENTED -> 501;
      case UNAVAILABLE -> 503;
      case DEADLINE_EXCEEDED -> 504;
      default -> 500;
    };
  }
}
