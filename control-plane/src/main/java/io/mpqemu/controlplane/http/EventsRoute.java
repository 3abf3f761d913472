package io.mpqemu.controlplane.http;

import io.mpqemu.access.AccessPolicy;
import io.mpqemu.access.Caller;
import io.mpqemu.access.StreamLimit;
import io.mpqemu.controlplane.events.EventLog;
import io.mpqemu.errors.Echo;
import io.mpqemu.http.HttpErrors;
import io.vertx.core.Context;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.ext.web.RoutingContext;
import io.vertx.grpc.common.GrpcStatus;
import io.vertx.grpc.server.StatusException;
import java.time.Duration;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * {@code GET /v1/events}: the event log as Server-Sent Events, exactly like WatchEvents. Resumes
 * after the seq in the {@code Last-Event-ID} header (what an EventSource sends when it reconnects),
 * else after {@code ?from=N}, else from the start; {@code ?vm_id=} keeps one VM's events. Each stream
 * counts against its caller's stream limit until it ends.
 */
final class EventsRoute {

  /** A comment line this often keeps idle connections open through proxies and finds dead clients. */
  static final Duration KEEP_ALIVE = Duration.ofSeconds(15);
  private static final Pattern VM_ID = Pattern.compile("^[a-z0-9][a-z0-9-]{0,62}$");
  private static final Pattern SEQ = Pattern.compile("^[0-9]{1,20}$");

  private final Vertx vertx;
  private final Context controlPlane;
  private final EventLog log;
  private final AccessPolicy policy;
  private final StreamLimit streams;

  EventsRoute(Vertx vertx, Context controlPlane, EventLog log, AccessPolicy policy, StreamLimit streams) {
    this.vertx = vertx;
    this.controlPlane = controlPlane;
    this.log = log;
    this.policy = policy;
    this.streams = streams;
  }

  void handle(RoutingContext ctx) {
    Query q = new Query(ctx.queryParams(), Set.of("from", "vm_id"));
    String lastEventId = ctx.request().getHeader("Last-Event-ID");
    long from = lastEventId != null ? seq("the Last-Event-ID header", lastEventId.strip())
        : seq("from", q.string("from", "0"));
    String vmId = q.string("vm_id", "");
    if (!vmId.isEmpty() && !VM_ID.matcher(vmId).matches()) {
      throw HttpErrors.invalid("vm_id is not a valid VM id");
    }
    Caller caller = policy.callerOf(ctx.request().connection());
    Runnable release = streams.open(caller).orElseThrow(() -> new StatusException(GrpcStatus.RESOURCE_EXHAUSTED,
        streams.refusal(caller)));
    Context connection = Vertx.currentContext();
    HttpServerResponse response = ctx.response();
    Subscription sub = new Subscription();
    controlPlane.runOnContext(v -> {
      long end = log.lastSeq();
      if (Long.compareUnsigned(from, end) > 0) {
        release.run();
        connection.runOnContext(x -> HttpErrors.send(response, new StatusException(GrpcStatus.OUT_OF_RANGE,
            "event " + Long.toUnsignedString(from) + " is beyond the end of the event log (seq " + end
                + "); resume from a seq you received")));
        return;
      }
      // queued on the connection before any event the subscription writes there
      connection.runOnContext(x -> start(response, from, end, sub, release));
      sub.started(log.subscribe(from, vmId, new SseEventSink(response, connection, controlPlane)));
    });
  }

  private void start(HttpServerResponse response, long from, long end, Subscription sub, Runnable release) {
    if (response.closed()) {
      release.run();
      controlPlane.runOnContext(x -> sub.cancel());
      return;
    }
    response.closeHandler(v -> {
      release.run();
      controlPlane.runOnContext(x -> sub.cancel());
    });
    response.setChunked(true)
        .putHeader("content-type", "text/event-stream; charset=utf-8")
        .putHeader("cache-control", "no-cache")
        .putHeader("x-accel-buffering", "no");
    response.write(": mpqemu event log after seq " + Long.toUnsignedString(from) + " (now at " + end + ")\n\n");
    long timer = vertx.setPeriodic(KEEP_ALIVE.toMillis(), id -> {
      if (response.ended() || response.closed()) {
        vertx.cancelTimer(id);
      } else if (!response.writeQueueFull()) {
        response.write(": keep-alive\n\n");
      }
    });
    response.endHandler(v -> {
      release.run(); // ended by the server (overflow, a failed read): the connection may live on
      vertx.cancelTimer(timer);
    });
  }

  private static long seq(String what, String value) {
    if (!SEQ.matcher(value).matches()) {
      throw HttpErrors.invalid(what + " must be an event seq (a whole number, 0 for the start), not "
          + Echo.quote(value));
    }
    try {
      return Long.parseUnsignedLong(value);
    } catch (NumberFormatException e) {
      throw HttpErrors.invalid(what + " is too large for an event seq");
    }
  }

  /** The subscription of one request; touched on the control plane's loop only. */
  private static final class Subscription {
    private Runnable unsubscribe;
    private boolean cancelled;

    void started(Runnable u) {
      unsubscribe = u;
      if (cancelled) {
        u.run();
      }
    }

    void cancel() {
      cancelled = true;
      if (unsubscribe != null) {
        unsubscribe.run();
      }
    }
  }
}
