package io.mpqemu.agent.http;

import io.mpqemu.http.Check;
import io.mpqemu.http.CommonRoutes;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.ext.web.Router;
import java.util.List;
import java.util.function.Supplier;

/** The agent's HTTP routes: /healthz, /readyz, /metrics. */
public final class AgentHttp {

  private AgentHttp() {}

  public static Router router(Vertx vertx, Context agent, AgentMetrics metrics, Supplier<Future<List<Check>>> readiness) {
    Router router = Router.router(vertx);
    CommonRoutes.health(router, agent, readiness);
    CommonRoutes.metrics(router, metrics::scrape);
    CommonRoutes.errors(router);
    return router;
  }
}
