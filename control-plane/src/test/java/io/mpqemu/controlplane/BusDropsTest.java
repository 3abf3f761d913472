package io.mpqemu.controlplane;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/** Bus messages the control plane dropped for what they say: every one counted, one line per kind and minute. */
class BusDropsTest {

  private static final String METRIC = " (mpqemu_bus_messages_dropped_total{reason=\"other_nodes_vm\"}";

  private final List<String> warnings = new ArrayList<>();
  private final List<String> infos = new ArrayList<>();
  private final AtomicLong now = new AtomicLong(1_000);
  private final BusDrops drops = new BusDrops(warnings::add, infos::add, now::get);

  @Test
  @DisplayName("a burst of one kind logs one line; the next, a minute on, says how many were dropped without a line")
  void oneLinePerBurst() {
    drops.drop("other_nodes_vm", "other_nodes_vm agent-a", "an event of node agent-a about VM 1", true);
    for (int i = 2; i <= 4; i++) {
      now.addAndGet(TimeUnit.SECONDS.toNanos(10));
      drops.drop("other_nodes_vm", "other_nodes_vm agent-a", "an event of node agent-a about VM " + i, true);
    }
    assertThat(warnings).containsExactly("event bus: dropped an event of node agent-a about VM 1" + METRIC + ")");

    now.addAndGet(TimeUnit.SECONDS.toNanos(31)); // 61 s after the first line
    drops.drop("other_nodes_vm", "other_nodes_vm agent-a", "an event of node agent-a about VM 5", true);
    assertThat(warnings).containsExactly("event bus: dropped an event of node agent-a about VM 1" + METRIC + ")",
        "event bus: dropped an event of node agent-a about VM 5" + METRIC + "; and 3 more like it since the last such line)");
    assertThat(drops.counts()).isEqualTo(Map.of("other_nodes_vm", 5L));
  }

  @Test
  @DisplayName("kinds are apart: another node, another reason; INFO when asked")
  void kinds() {
    drops.drop("other_nodes_vm", "other_nodes_vm agent-a", "a", true);
    drops.drop("other_nodes_vm", "other_nodes_vm agent-b", "b", true);
    drops.drop("unknown_vm", "unknown_vm agent-a", "c", false);
    drops.drop("unknown_vm", "unknown_vm agent-a", "d", false);
    assertThat(warnings).containsExactly("event bus: dropped a" + METRIC + ")", "event bus: dropped b" + METRIC + ")");
    assertThat(infos).containsExactly("event bus: dropped c (mpqemu_bus_messages_dropped_total{reason=\"unknown_vm\"})");
    assertThat(drops.counts()).isEqualTo(Map.of("other_nodes_vm", 2L, "unknown_vm", 1L + 1L));
  }
}
