package io.mpqemu.controlplane.api;

import io.mpqemu.controlplane.events.EventSink;
import io.mpqemu.v1.VmEvent;
import io.vertx.core.Context;
import io.vertx.grpc.common.GrpcStatus;
import io.vertx.grpc.server.GrpcServerResponse;
import io.vertx.grpc.server.StatusException;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A WatchEvents stream as an event sink. The event log calls it on the control plane's loop; the
 * stream belongs to the caller's loop, so writes hop there, and "full" means the stream's write queue
 * is full or too many writes are still on their way to it.
 */
final class GrpcEventSink implements EventSink {

  private static final int MAX_IN_FLIGHT = 256;

  private final GrpcServerResponse<?, VmEvent> response;
  private final Context caller;
  private final Context controlPlane;
  private final AtomicInteger inFlight = new AtomicInteger();
  private volatile boolean queueFull;
  private volatile boolean closed;
  private Runnable onDrain;
  private volatile Runnable onClosed = () -> { };

  GrpcEventSink(GrpcServerResponse<?, VmEvent> response, Context caller, Context controlPlane) {
    this.response = response;
    this.caller = caller;
    this.controlPlane = controlPlane;
  }

  @Override
  public boolean writable() {
    return !queueFull && inFlight.get() < MAX_IN_FLIGHT;
  }

  /** What to do once the stream is gone (the caller cancelled, the connection dropped); runs on the control plane's loop. */
  void onClosed(Runnable action) {
    onClosed = action;
    if (closed) {
      action.run(); // closed before the subscription existed
    }
  }

  /** The stream is gone: stop writing and end the subscription. */
  void closed() {
    if (!closed) {
      closed = true;
      controlPlane.runOnContext(v -> onClosed.run());
    }
  }

  @Override
  public void write(VmEvent event) {
    inFlight.incrementAndGet();
    caller.runOnContext(v -> {
      inFlight.decrementAndGet();
      if (closed) {
        return;
      }
      try {
        response.write(event).onFailure(e -> closed());
      } catch (IllegalStateException cancelled) {
        closed(); // a cancel does not always reach the exception handler before the next write
        return;
      }
      if (response.writeQueueFull()) {
        queueFull = true;
        response.drainHandler(x -> {
          queueFull = false;
          fireDrain();
        });
      } else if (inFlight.get() == MAX_IN_FLIGHT / 2) {
        fireDrain();
      }
    });
  }

  @Override
  public void drainHandler(Runnable handler) {
    onDrain = handler;
    if (writable()) {
      fireDrain();
    }
  }

  private void fireDrain() {
    controlPlane.runOnContext(v -> {
      Runnable d = onDrain;
      if (d != null && writable()) {
        onDrain = null;
        d.run();
      }
    });
  }

  @Override
  public void overflow(long lastSeq) {
    caller.runOnContext(v -> response.fail(new StatusException(GrpcStatus.RESOURCE_EXHAUSTED,
        "this subscriber fell too far behind and was cut off; the last event it was sent is seq " + lastSeq
            + "; watch again with from_seq " + lastSeq)));
  }

  @Override
  public void complete() {
    caller.runOnContext(v -> {
      if (!closed) {
        response.end();
      }
    });
  }

  @Override
  public void fail(Throwable cause) {
    caller.runOnContext(v -> response.fail(new StatusException(GrpcStatus.UNAVAILABLE,
        "the event log cannot be read: " + cause.getMessage())));
  }
}
