package io.mpqemu.grpc;

import io.vertx.grpc.common.GrpcStatus;

/** A call answered with a status other than OK; the message is the server's own. */
public final class GrpcCallException extends RuntimeException {

  private final GrpcStatus status;

  public GrpcCallException(GrpcStatus status, String message) {
    super(status + ": " + (message == null ? "" : message), null, false, false);
    this.status = status;
  }

  public GrpcStatus status() {
    return status;
  }

  /** The server's message without the status prefix. */
  public String serverMessage() {
    return getMessage().substring(status.toString().length() + 2);
  }
}
