package io.mpqemu.controlplane.http;

import io.mpqemu.access.AccessPolicy;
import io.mpqemu.access.StreamLimit;
import io.mpqemu.controlplane.api.VmGrpcService;
import io.mpqemu.controlplane.events.EventLog;
import io.mpqemu.http.Check;
import io.mpqemu.http.CommonRoutes;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.ext.web.Router;
import java.util.List;
import java.util.function.Supplier;

/** The control plane's HTTP routes. */
public final class ControlPlaneHttp {

  private ControlPlaneHttp() {}

  /**
   * @param controlPlane the context that owns the intents, the reconciler, the node registry and the event log
   * @param api the gRPC service: the JSON endpoints are its read calls
   * @param policy who callers are (the SSE stream counts against its caller's limit)
   * @param streams the event stream limit, shared with WatchEvents
   */
  public static Router router(Vertx vertx, Context controlPlane, VmGrpcService api, EventLog log,
      ControlPlaneMetrics metrics, Supplier<Future<List<Check>>> readiness, AccessPolicy policy, StreamLimit streams) {
    Router router = Router.router(vertx);
    CommonRoutes.health(router, controlPlane, readiness);
    CommonRoutes.metrics(router, metrics::scrape);
    EventsRoute events = new EventsRoute(vertx, controlPlane, log, policy, streams);
    router.get("/v1/events").handler(events::handle);
    VmRoutes vms = new VmRoutes(api);
    router.get("/v1/vms").handler(vms::list);
    router.get("/v1/vms/:ref").handler(vms::get);
    router.get("/v1/nodes").handler(vms::nodes);
    CommonRoutes.errors(router);
    return router;
  }
}
