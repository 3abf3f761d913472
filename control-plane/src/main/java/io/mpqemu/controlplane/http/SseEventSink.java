package io.mpqemu.controlplane.http;

import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.util.JsonFormat;
import io.mpqemu.controlplane.events.EventSink;
import io.mpqemu.v1.VmEvent;
import io.vertx.core.Context;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.json.JsonObject;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * An event log subscription written as Server-Sent Events: {@code id: <seq>}, {@code event: <type>},
 * {@code data: <VmEvent as one line of protobuf JSON>}. The log calls it on the control plane's loop;
 * the response belongs to the connection's loop, so writes hop there, and "full" means the
 * response's write queue is full or too many writes are still on their way to it.
 */
final class SseEventSink implements EventSink {

  static final int MAX_IN_FLIGHT = 256;
  private static final JsonFormat.Printer JSON = JsonFormat.printer().omittingInsignificantWhitespace();

  private final HttpServerResponse response;
  private final Context connection;
  private final Context controlPlane;
  private final AtomicInteger inFlight = new AtomicInteger();
  private volatile boolean queueFull;
  private Runnable onDrain;

  SseEventSink(HttpServerResponse response, Context connection, Context controlPlane) {
    this.response = response;
    this.connection = connection;
    this.controlPlane = controlPlane;
  }

  static String frame(VmEvent e) {
    try {
      return "id: " + Long.toUnsignedString(e.getSeq()) + "\nevent: " + e.getType().name() + "\ndata: " + JSON.print(e)
          + "\n\n";
    } catch (InvalidProtocolBufferException x) {
      throw new IllegalStateException("cannot print event " + e.getSeq(), x);
    }
  }

  @Override
  public boolean writable() {
    return !queueFull && inFlight.get() < MAX_IN_FLIGHT;
  }

  @Override
  public void write(VmEvent event) {
    String text = frame(event);
    inFlight.incrementAndGet();
    connection.runOnContext(v -> {
      if (open()) {
        response.write(text);
      }
      inFlight.decrementAndGet();
      if (open() && response.writeQueueFull()) {
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
    JsonObject data = new JsonObject().put("lastSeq", lastSeq).put("message", "this subscriber fell too far behind and"
        + " was cut off; the last event it was sent is seq " + lastSeq + "; reconnect with Last-Event-ID: " + lastSeq);
    finish("event: overflow\ndata: " + data.encode() + "\n\n");
  }

  @Override
  public void complete() {
    connection.runOnContext(v -> {
      if (!response.ended() && !response.closed()) {
        response.end();
      }
    });
  }

  @Override
  public void fail(Throwable cause) {
    JsonObject data = new JsonObject().put("error", new JsonObject().put("code", "UNAVAILABLE")
        .put("message", "the event log cannot be read: " + cause.getMessage()));
    finish("event: error\ndata: " + data.encode() + "\n\n");
  }

  /** A last message, then the end of the stream; after the events already on their way. */
  private void finish(String last) {
    connection.runOnContext(v -> {
      if (open()) {
        response.end(last);
      }
    });
  }

  private boolean open() {
    return !response.ended() && !response.closed();
  }
}
