package io.mpqemu.agent.vm;

import io.vertx.core.Vertx;
import java.time.Duration;

/** {@link Timers} on Vert.x timers; call it on the agent's event loop, where the actions then run. */
public record VertxTimers(Vertx vertx) implements Timers {

  @Override
  public long schedule(Duration delay, Runnable action) {
    return vertx.setTimer(Math.max(1, delay.toMillis()), id -> action.run());
  }

  @Override
  public void cancel(long id) {
    vertx.cancelTimer(id);
  }
}
