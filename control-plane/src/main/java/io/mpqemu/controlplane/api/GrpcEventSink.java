package io.mpqemu.controlplane.api;

import io.mpqemu.controlplane.events.HoppingEventSink;
import io.mpqemu.controlplane.events.OutOfRange;
import io.mpqemu.errors.InternalErrors;
import io.mpqemu.v1.VmEvent;
import io.vertx.core.Context;
import io.vertx.grpc.common.GrpcStatus;
import io.vertx.grpc.server.GrpcServerResponse;
import io.vertx.grpc.server.StatusException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A WatchEvents stream as an event sink; it ends the subscription once the stream is gone, and gives
 * back its place in the caller's stream limit however the stream ends.
 */
final class GrpcEventSink extends HoppingEventSink {

  private static final Logger LOG = LoggerFactory.getLogger(GrpcEventSink.class);

  private final GrpcServerResponse<?, VmEvent> response;
  private final Context controlPlane;
  private volatile boolean closed;
  private volatile Runnable onClosed = () -> { };
  private final Runnable release;

  /** @param release gives back the stream's place in its caller's limit (may run more than once) */
  GrpcEventSink(GrpcServerResponse<?, VmEvent> response, Context caller, Context controlPlane, Runnable release) {
    super(caller, controlPlane);
    this.response = response;
    this.controlPlane = controlPlane;
    this.release = release;
  }

  /** What to do once the stream is gone (cancelled, connection dropped); runs on the control plane's loop. */
  void onClosed(Runnable action) {
    onClosed = action;
    if (closed) {
      action.run(); // closed before the subscription existed
    }
  }

  /** The stream is gone: stop writing and end the subscription. */
  void closed() {
    release.run();
    if (!closed) {
      closed = true;
      controlPlane.runOnContext(v -> onClosed.run());
    }
  }

  @Override
  protected boolean open() {
    return !closed;
  }

  @Override
  protected void send(VmEvent event) {
    response.write(event).onFailure(e -> closed());
  }

  @Override
  protected void gone() {
    closed();
  }

  @Override
  protected boolean streamQueueFull() {
    return response.writeQueueFull();
  }

  @Override
  protected void streamDrainHandler(Runnable handler) {
    response.drainHandler(v -> handler.run());
  }

  @Override
  public void overflow(long lastSeq) {
    release.run();
    onStream(() -> response.fail(new StatusException(GrpcStatus.RESOURCE_EXHAUSTED,
        "this subscriber fell too far behind and was cut off; the last event it was sent is seq " + lastSeq
            + "; watch again with from_seq " + lastSeq)));
  }

  @Override
  public void outOfRange(long firstKept) {
    release.run();
    onStream(() -> response.fail(new StatusException(GrpcStatus.OUT_OF_RANGE, OutOfRange.message(firstKept, "from_seq"))));
  }

  @Override
  public void complete() {
    release.run();
    onStream(() -> {
      if (!closed) {
        response.end();
      }
    });
  }

  /** UNAVAILABLE, as a watch may be resumed; the store's failure itself only in the log, under the answer's id. */
  @Override
  public void fail(Throwable cause) {
    release.run();
    String message = "the event log cannot be read: " + InternalErrors.report(LOG, "reading the event log for WatchEvents",
        cause);
    onStream(() -> response.fail(new StatusException(GrpcStatus.UNAVAILABLE, message)));
  }
}
