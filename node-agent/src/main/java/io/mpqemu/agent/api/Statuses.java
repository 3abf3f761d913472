package io.mpqemu.agent.api;

import io.mpqemu.agent.fence.FenceException;
import io.mpqemu.agent.vm.VmException;
import io.mpqemu.errors.InternalErrors;
import io.vertx.grpc.common.GrpcStatus;
import io.vertx.grpc.server.StatusException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Maps the agent's errors to gRPC status codes, at the edge only. */
final class Statuses {

  private static final Logger LOG = LoggerFactory.getLogger(Statuses.class);

  private Statuses() {}

  static StatusException invalid(String message) {
    return new StatusException(GrpcStatus.INVALID_ARGUMENT, message);
  }

  /**
   * The agent's own refusals keep their messages (a failed launch keeps QEMU's last words); anything
   * else is an internal error, answered with an id that the log line with the detail carries.
   */
  static Throwable toStatus(Throwable e) {
    if (e instanceof StatusException) {
      return e;
    }
    if (e instanceof VmException ve) {
      return new StatusException(switch (ve.kind()) {
        case INVALID_SPEC -> GrpcStatus.INVALID_ARGUMENT;
        case NOT_FOUND -> GrpcStatus.NOT_FOUND;
        case ALREADY_EXISTS -> GrpcStatus.ALREADY_EXISTS;
        case WRONG_PHASE, IMAGE_UNAVAILABLE -> GrpcStatus.FAILED_PRECONDITION;
        case NO_CAPACITY -> GrpcStatus.RESOURCE_EXHAUSTED;
        case IMAGE_FORBIDDEN -> GrpcStatus.PERMISSION_DENIED;
        case LAUNCH_FAILED -> GrpcStatus.INTERNAL;
        case UNAVAILABLE -> GrpcStatus.UNAVAILABLE;
      }, ve.getMessage());
    }
    if (e instanceof FenceException fe) {
      return new StatusException(switch (fe.kind()) {
        case STALE, NO_EPOCH -> GrpcStatus.FAILED_PRECONDITION;
        case UNRECORDED -> GrpcStatus.UNAVAILABLE;
      }, fe.getMessage());
    }
    return InternalErrors.status(LOG, "answering a NodeAgentService call", e);
  }
}
