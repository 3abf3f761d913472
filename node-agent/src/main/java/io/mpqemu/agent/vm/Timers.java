package io.mpqemu.agent.vm;

import io.vertx.core.Future;
import io.vertx.core.Promise;
import java.time.Duration;
import java.util.concurrent.TimeoutException;

/** One-shot timers on the agent's event loop, injected so that tests drive time without sleeping. */
public interface Timers {

  /** Runs {@code action} on the event loop once {@code delay} has passed; the id cancels it. */
  long schedule(Duration delay, Runnable action);

  void cancel(long id);

  /**
   * {@code work}'s outcome if it comes within {@code limit}, otherwise a {@link TimeoutException}
   * (what {@link Future#timeout} does, on these timers).
   */
  default <T> Future<T> within(Future<T> work, Duration limit) {
    if (work.isComplete()) {
      return work;
    }
    Promise<T> outcome = Promise.promise();
    long id = schedule(limit, () -> outcome.tryFail(new TimeoutException("nothing within " + limit.toMillis() + " ms")));
    work.onComplete(ar -> {
      cancel(id);
      if (ar.succeeded()) {
        outcome.tryComplete(ar.result());
      } else {
        outcome.tryFail(ar.cause());
      }
    });
    return outcome.future();
  }
}
