package io.mpqemu.http;

import io.mpqemu.errors.Echo;
import io.mpqemu.errors.InternalErrors;
import io.mpqemu.metrics.ServiceRegistry;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;
import io.vertx.grpc.common.GrpcStatus;
import io.vertx.grpc.server.StatusException;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** What both services serve: /healthz, /readyz, /metrics, and JSON answers for unknown paths and failures. */
public final class CommonRoutes {

  private static final Logger LOG = LoggerFactory.getLogger(CommonRoutes.class);

  /** How long /healthz and /readyz wait for the service's own loop and its checks. */
  public static final Duration CHECK_TIMEOUT = Duration.ofSeconds(5);

  private CommonRoutes() {}

  /**
   * @param owner the service's context: /healthz answers once it ran a no-op there, so a blocked loop is not alive
   * @param readiness the conditions /readyz reports; ready when all pass
   */
  public static void health(Router router, Context owner, Supplier<Future<List<Check>>> readiness) {
    router.get("/healthz").handler(ctx -> OnContext.call(owner, () -> Future.succeededFuture("alive"))
        .timeout(CHECK_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)
        .onSuccess(status -> json(ctx.response(), 200, new JsonObject().put("status", status)))
        .onFailure(e -> HttpErrors.send(ctx.response(), 503, GrpcStatus.UNAVAILABLE.name(),
            "the service's event loop did not answer within " + CHECK_TIMEOUT.toSeconds() + " s")));
    router.get("/readyz").handler(ctx -> readiness.get().timeout(CHECK_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)
        .onSuccess(checks -> {
          boolean ready = checks.stream().allMatch(Check::ok);
          JsonArray list = new JsonArray();
          checks.forEach(c -> list.add(new JsonObject().put("name", c.name()).put("ok", c.ok()).put("detail", c.detail())));
          json(ctx.response(), ready ? 200 : 503, new JsonObject().put("ready", ready).put("checks", list));
        })
        .onFailure(e -> HttpErrors.send(ctx.response(), 503, GrpcStatus.UNAVAILABLE.name(),
            e instanceof TimeoutException ? "readiness could not be checked within " + CHECK_TIMEOUT.toSeconds() + " s"
                : "readiness could not be checked: " + InternalErrors.report(LOG, "checking readiness", e))));
  }

  /**
   * Serves the Prometheus text format 0.0.4 whatever the Accept header asks (OpenMetrics too is text
   * Prometheus reads, but one format keeps one set of names and samples to check).
   *
   * @param scrape renders the service's registry after bringing its gauges up to date
   */
  public static void metrics(Router router, Supplier<Future<String>> scrape) {
    router.get("/metrics").handler(ctx -> scrape.get()
        .onSuccess(text -> ctx.response().putHeader("content-type", ServiceRegistry.CONTENT_TYPE).end(text))
        .onFailure(e -> HttpErrors.send(ctx.response(), e)));
  }

  /**
   * Unknown paths, other methods than GET and unexpected failures answer JSON errors too; a path is
   * quoted cut short ({@link Echo}), an unexpected failure only by an id ({@link InternalErrors}).
   */
  public static void errors(Router router) {
    router.errorHandler(404, ctx -> HttpErrors.send(ctx.response(), 404, GrpcStatus.NOT_FOUND.name(),
        "nothing is served at " + Echo.of(ctx.request().path())));
    router.errorHandler(405, ctx -> HttpErrors.send(ctx.response(), 405, GrpcStatus.UNIMPLEMENTED.name(),
        Echo.of(ctx.request().method().name()) + " is not served at " + Echo.of(ctx.request().path())
            + "; these endpoints are read-only (GET)"));
    router.errorHandler(500, ctx -> HttpErrors.send(ctx.response(),
        ctx.failure() == null ? new StatusException(GrpcStatus.INTERNAL, "internal error") : ctx.failure()));
  }

  public static void json(io.vertx.core.http.HttpServerResponse response, int status, JsonObject body) {
    response.setStatusCode(status).putHeader("content-type", "application/json").end(body.encode() + "\n");
  }
}
