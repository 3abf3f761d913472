package io.mpqemu.controlplane.http;

import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.util.JsonFormat;
import io.mpqemu.controlplane.events.HoppingEventSink;
import io.mpqemu.controlplane.events.OutOfRange;
import io.mpqemu.errors.InternalErrors;
import io.mpqemu.v1.VmEvent;
import io.vertx.core.Context;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.json.JsonObject;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * An event log subscription written as Server-Sent Events: {@code id: <seq>}, {@code event: <type>},
 * {@code data: <VmEvent as one line of protobuf JSON>}. The log calls it on the control plane's loop;
 * the response belongs to the connection's loop, so writes hop there, and "full" means the
 * response's write queue is full or too many writes are still on their way to it.
 */
final class SseEventSink extends HoppingEventSink {

  private static final Logger LOG = LoggerFactory.getLogger(SseEventSink.class);
  static final int MAX_IN_FLIGHT = HoppingEventSink.MAX_IN_FLIGHT;
  private static final JsonFormat.Printer JSON = JsonFormat.printer().omittingInsignificantWhitespace();

  private final HttpServerResponse response;

  SseEventSink(HttpServerResponse response, Context connection, Context controlPlane) {
    super(connection, controlPlane);
    this.response = response;
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
  protected boolean open() {
    return !response.ended() && !response.closed();
  }

  @Override
  protected void send(VmEvent event) {
    response.write(frame(event));
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
    JsonObject data = new JsonObject().put("lastSeq", lastSeq).put("message", "this subscriber fell too far behind and"
        + " was cut off; the last event it was sent is seq " + lastSeq + "; reconnect with Last-Event-ID: " + lastSeq);
    finish("event: overflow\ndata: " + data.encode() + "\n\n");
  }

  /** An error event with code OUT_OF_RANGE naming where the log starts now. */
  @Override
  public void outOfRange(long firstKept) {
    JsonObject data = new JsonObject().put("error", new JsonObject().put("code", "OUT_OF_RANGE")
        .put("firstSeq", firstKept).put("message", OutOfRange.message(firstKept, "Last-Event-ID")));
    finish("event: error\ndata: " + data.encode() + "\n\n");
  }

  @Override
  public void complete() {
    onStream(() -> {
      if (open()) {
        response.end();
      }
    });
  }

  /** An error event, UNAVAILABLE as the stream may be resumed; the store's failure itself only in the log. */
  @Override
  public void fail(Throwable cause) {
    JsonObject data = new JsonObject().put("error", new JsonObject().put("code", "UNAVAILABLE")
        .put("message", "the event log cannot be read: "
            + InternalErrors.report(LOG, "reading the event log for /v1/events", cause)));
    finish("event: error\ndata: " + data.encode() + "\n\n");
  }

  /** A last message, then the end of the stream; after the events already on their way. */
  private void finish(String last) {
    onStream(() -> {
      if (open()) {
        response.end(last);
      }
    });
  }
}
