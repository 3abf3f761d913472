package io.mpqemu.agent.http;

import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.BiFunction;

/**
 * Meters for a set of things that come and go (processes, NICs): one group of meters per key, reading
 * that key's last value. {@link #update} brings the registry in line with what exists now: new keys are
 * registered, gone ones removed (so the registry holds no series of a thing that is gone), the rest take
 * their new value. Updated on one thread; the scrape reads the values on any.
 *
 * @param <K> what the labels are made of
 * @param <V> the figures the meters read
 */
final class LiveSeries<K, V> {

  private final MeterRegistry registry;
  private final V zero;
  private final BiFunction<K, AtomicReference<V>, List<Meter>> register;
  private final Map<K, Entry<V>> series = new HashMap<>();

  /**
   * @param zero the value a new key's meters read until its first update lands
   * @param register registers a key's meters, reading the reference it is given
   */
  LiveSeries(MeterRegistry registry, V zero, BiFunction<K, AtomicReference<V>, List<Meter>> register) {
    this.registry = registry;
    this.zero = zero;
    this.register = register;
  }

  private record Entry<V>(AtomicReference<V> value, List<Meter> meters) {}

  /** Series for exactly these keys, each with its value. */
  void update(Map<K, V> now) {
    series.entrySet().removeIf(e -> {
      boolean gone = !now.containsKey(e.getKey());
      if (gone) {
        e.getValue().meters().forEach(registry::remove);
      }
      return gone;
    });
    now.forEach((key, value) -> series.computeIfAbsent(key, k -> {
      AtomicReference<V> ref = new AtomicReference<>(zero);
      return new Entry<>(ref, register.apply(k, ref));
    }).value().set(value));
  }

  void removeAll() {
    update(Map.of());
  }
}
