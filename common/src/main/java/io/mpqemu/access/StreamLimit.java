package io.mpqemu.access;

import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * How many event streams (WatchEvents, SSE) each identity holds at once, against a limit. Callers that
 * share an identity share the limit; an unidentified caller never gets this far. Thread-safe.
 */
public final class StreamLimit {

  private final int max;
  private final Map<String, Integer> open = new ConcurrentHashMap<>();

  public StreamLimit(int max) {
    this.max = max;
  }

  public int max() {
    return max;
  }

  /**
   * Counts one more stream for {@code caller}: answers what ends it (call it exactly once, when the
   * stream ends however it ends; further calls do nothing), or empty when the caller holds {@link #max}
   * already.
   */
  public Optional<Runnable> open(Caller caller) {
    boolean[] admitted = {false};
    open.compute(caller.identity(), (k, n) -> {
      int held = n == null ? 0 : n;
      if (held >= max) {
        return n;
      }
      admitted[0] = true;
      return held + 1;
    });
    if (!admitted[0]) {
      return Optional.empty();
    }
    AtomicBoolean closed = new AtomicBoolean();
    return Optional.of(() -> {
      if (closed.compareAndSet(false, true)) {
        open.computeIfPresent(caller.identity(), (k, n) -> n <= 1 ? null : n - 1);
      }
    });
  }

  /** Streams {@code identity} holds now. */
  public int held(String identity) {
    return open.getOrDefault(identity, 0);
  }

  /** The refusal a caller over the limit gets (RESOURCE_EXHAUSTED). */
  public String refusal(Caller caller) {
    return caller.description() + " already holds " + max + " event streams, the most one caller may hold at once"
        + " (per control plane or agent); end one, or ask the operator to raise --max-streams-per-caller";
  }
}
