package io.mpqemu.controlplane;

import java.util.HashMap;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.LongSupplier;

/**
 * Bus messages the control plane dropped for what they say, once their signature was found good
 * (another node's VM, an unknown VM, a refused endpoint): counted by reason (for /metrics, beside the
 * signature checks' own reasons), and logged once per burst: the first drop of a kind logs its line,
 * the drops of that kind in the minute after it only count, and the next line after that minute says
 * how many there were. A flood of stray messages thus costs a line a minute per kind. Runs on the
 * control plane's event loop.
 */
final class BusDrops {

  static final long BURST_NANOS = TimeUnit.MINUTES.toNanos(1);
  /** Kinds remembered at most; past it the memory starts again (a line per kind, at worst). */
  private static final int KINDS = 1000;

  private final Consumer<String> warn;
  private final Consumer<String> info;
  private final LongSupplier nanoTime;
  private final Map<String, Burst> bursts = new HashMap<>();
  private final Map<String, Long> counts = new TreeMap<>();

  private static final class Burst {
    final long since;
    long more;

    Burst(long since) {
      this.since = since;
    }
  }

  BusDrops(Consumer<String> warn, Consumer<String> info, LongSupplier nanoTime) {
    this.warn = warn;
    this.info = info;
    this.nanoTime = nanoTime;
  }

  /**
   * A dropped message: counted under {@code reason}, and logged as "event bus: dropped {@code message}
   * (mpqemu_bus_messages_dropped_total{reason="..."})", as the signature checks' drops are (at WARN, or
   * INFO when not {@code warn}), unless a message of the same {@code kind} was logged less than a
   * minute ago.
   */
  void drop(String reason, String kind, String message, boolean warn) {
    counts.merge(reason, 1L, Long::sum);
    long now = nanoTime.getAsLong();
    Burst last = bursts.get(kind);
    if (last != null && now - last.since < BURST_NANOS) {
      last.more++;
      return;
    }
    if (bursts.size() >= KINDS) {
      bursts.clear();
    }
    bursts.put(kind, new Burst(now));
    String line = "event bus: dropped " + message + " (mpqemu_bus_messages_dropped_total{reason=\"" + reason + "\"}"
        + (last == null || last.more == 0 ? "" : "; and " + last.more + " more like it since the last such line") + ")";
    (warn ? this.warn : this.info).accept(line);
  }

  /** Drops so far by reason; read on the control plane's event loop. */
  Map<String, Long> counts() {
    return Map.copyOf(counts);
  }
}
