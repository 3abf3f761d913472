package io.mpqemu.controlplane.vm;

import io.vertx.grpc.common.GrpcStatus;

/** A request the control plane refuses, with the status a caller gets and a sentence saying what to fix. */
public final class ApiException extends RuntimeException {

  private final GrpcStatus status;

  public ApiException(GrpcStatus status, String message) {
    super(message, null, false, false);
    this.status = status;
  }

  public GrpcStatus status() {
    return status;
  }
}
