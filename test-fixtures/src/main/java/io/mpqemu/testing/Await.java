package io.mpqemu.testing;

import io.vertx.core.Future;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.BooleanSupplier;
import java.util.function.Function;
import java.util.function.Predicate;

/**
 * Waiting in a test: poll a probe until what it returns will do, or block on a Vert.x {@link Future}.
 * A wait that runs out fails with what the caller says about the last value seen.
 *
 * <pre>{@code
 * Vm vm = Await.atMost(Duration.ofSeconds(30)).every(Duration.ofMillis(100))
 *     .until(() -> get(id), v -> v.getStatus().getPhase() == RUNNING, v -> "VM " + id + " is " + v.getStatus());
 * }</pre>
 */
public final class Await {

  /** How long {@link #result(Future)} waits: longer than any single call a test makes. */
  public static final Duration RESULT_WITHIN = Duration.ofSeconds(30);
  private static final Duration EVERY = Duration.ofMillis(20);

  private final Duration within;
  private final Duration every;

  private Await(Duration within, Duration every) {
    this.within = within;
    this.every = every;
  }

  /** What a wait looks at; it may throw (a file read, a call), which ends the wait. */
  @FunctionalInterface
  public interface Probe<T> {
    T get() throws Exception;
  }

  /** A wait of at most {@code within}, looking every 20 ms. */
  public static Await atMost(Duration within) {
    return new Await(within, EVERY);
  }

  /** The same wait, looking every {@code interval} (for probes that cost a call to another process). */
  public Await every(Duration interval) {
    return new Await(within, interval);
  }

  /**
   * Calls {@code probe} until {@code done} accepts its value and returns that value; when time runs
   * out, fails with {@code failure} applied to the last value seen.
   */
  public <T> T until(Probe<T> probe, Predicate<? super T> done, Function<? super T, String> failure) {
    T last = poll(probe, done);
    if (!done.test(last)) {
      throw new AssertionError(failure.apply(last) + " (waited " + within + ")");
    }
    return last;
  }

  /** Waits until {@code condition} holds; when time runs out, fails saying {@code what} did not happen. */
  public void until(BooleanSupplier condition, String what) {
    until(condition::getAsBoolean, Boolean::booleanValue, no -> what + " did not happen");
  }

  /**
   * Calls {@code probe} until {@code done} accepts its value or time runs out, and returns the last
   * value seen either way: for a test that asserts on it itself.
   */
  public <T> T poll(Probe<T> probe, Predicate<? super T> done) {
    long deadline = System.nanoTime() + within.toNanos();
    T last = look(probe);
    while (!done.test(last) && System.nanoTime() < deadline) {
      sleep(every);
      last = look(probe);
    }
    return last;
  }

  private static <T> T look(Probe<T> probe) {
    try {
      return probe.get();
    } catch (RuntimeException e) {
      throw e;
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  /** The value of {@code future}, waiting up to {@link #RESULT_WITHIN}; see {@link #result(Future, Duration)}. */
  public static <T> T result(Future<T> future) {
    return result(future, RESULT_WITHIN);
  }

  /**
   * The value of {@code future}, waiting up to {@code within}. A future that fails throws its own
   * failure when unchecked (a test asserts on the type the code produced), a checked one wrapped in an
   * {@link IllegalStateException}; use {@link #failure} to assert on a failure of any kind.
   */
  public static <T> T result(Future<T> future, Duration within) {
    try {
      return complete(future, within).get();
    } catch (ExecutionException e) {
      if (e.getCause() instanceof RuntimeException unchecked) {
        throw unchecked;
      }
      if (e.getCause() instanceof Error error) {
        throw error;
      }
      throw new IllegalStateException(e.getCause());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError("interrupted while waiting for a result", e);
    }
  }

  /** What {@code future} failed with, waiting up to {@link #RESULT_WITHIN}; fails the test if it succeeds. */
  public static Throwable failure(Future<?> future) {
    try {
      Object value = complete(future, RESULT_WITHIN).get();
      throw new AssertionError("expected a failure, got " + value);
    } catch (ExecutionException e) {
      return e.getCause();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError("interrupted while waiting for a failure", e);
    }
  }

  private static <T> CompletableFuture<T> complete(Future<T> future, Duration within) throws InterruptedException {
    CompletableFuture<T> f = future.toCompletionStage().toCompletableFuture();
    try {
      f.get(within.toMillis(), TimeUnit.MILLISECONDS);
    } catch (TimeoutException e) {
      throw new AssertionError("no result within " + within);
    } catch (ExecutionException e) {
      // completed, with a failure: the caller reads it
    }
    return f;
  }

  /** Sleeps, as a fixed pause in a test; an interrupt fails the test. */
  public static void sleep(Duration pause) {
    try {
      Thread.sleep(pause.toMillis());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError("interrupted while sleeping", e);
    }
  }

  /** {@link #sleep(Duration)} in milliseconds. */
  public static void sleep(long millis) {
    sleep(Duration.ofMillis(millis));
  }
}
