package io.mpqemu.controlplane.events;

import io.mpqemu.v1.VmEvent;
import io.vertx.core.Context;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * An event sink whose stream (a gRPC call, an HTTP response) belongs to another event loop than the
 * event log: each write hops to the stream's loop, in order, and the sink is "full" while the
 * stream's write queue is full or too many writes are still on their way to it. Subclasses say only
 * how to write to their stream.
 */
public abstract class HoppingEventSink implements EventSink {

  public static final int MAX_IN_FLIGHT = 256;

  private final Context stream;
  private final Context log;
  private final AtomicInteger inFlight = new AtomicInteger();
  private volatile boolean queueFull;
  private Runnable onDrain;

  protected HoppingEventSink(Context stream, Context log) {
    this.stream = stream;
    this.log = log;
  }

  /** On the stream's loop: can it still be written to? */
  protected abstract boolean open();

  /** On the stream's loop: writes one event; may throw IllegalStateException when the stream is gone. */
  protected abstract void send(VmEvent event);

  /** On the stream's loop. */
  protected abstract boolean streamQueueFull();

  /** On the stream's loop: called once when the stream's queue drains. */
  protected abstract void streamDrainHandler(Runnable handler);

  /** On the stream's loop: a write found the stream gone. */
  protected void gone() {}

  /** Runs on the stream's loop, after the writes already on their way. */
  protected final void onStream(Runnable action) {
    stream.runOnContext(v -> action.run());
  }

  @Override
  public final boolean writable() {
    return !queueFull && inFlight.get() < MAX_IN_FLIGHT;
  }

  @Override
  public final void write(VmEvent event) {
    inFlight.incrementAndGet();
    stream.runOnContext(v -> {
      inFlight.decrementAndGet();
      if (!open()) {
        return;
      }
      try {
        send(event);
      } catch (IllegalStateException streamGone) {
        gone(); // a cancel does not always reach the stream's handlers before the next write
        return;
      }
      if (streamQueueFull()) {
        queueFull = true;
        streamDrainHandler(() -> {
          queueFull = false;
          fireDrain();
        });
      } else if (inFlight.get() == MAX_IN_FLIGHT / 2) {
        fireDrain();
      }
    });
  }

  @Override
  public final void drainHandler(Runnable handler) {
    onDrain = handler;
    if (writable()) {
      fireDrain();
    }
  }

  private void fireDrain() {
    log.runOnContext(v -> {
      Runnable d = onDrain;
      if (d != null && writable()) {
        onDrain = null;
        d.run();
      }
    });
  }
}
