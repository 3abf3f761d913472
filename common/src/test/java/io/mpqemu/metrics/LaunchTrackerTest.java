package io.mpqemu.metrics;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.Timestamp;
import io.mpqemu.v1.EventType;
import io.mpqemu.v1.VmEvent;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

class LaunchTrackerTest {

  private final ServiceRegistry registry = new ServiceRegistry();
  private final LaunchTracker tracker = new LaunchTracker(new ServiceMeters(registry.meters()),
      Clock.fixed(Instant.parse("2030-01-01T00:00:00Z"), ZoneOffset.UTC));

  @AfterEach
  void close() {
    registry.close();
  }

  private static VmEvent event(String vm, EventType type, long millis) {
    return VmEvent.newBuilder().setVmId(vm).setType(type)
        .setTime(Timestamp.newBuilder().setSeconds(millis / 1000).setNanos((int) (millis % 1000) * 1_000_000)).build();
  }

  @Test
  @DisplayName("the time from a VM's LAUNCH_STARTED to its LAUNCHED is one observation of mpqemu_launch_seconds")
  void latency() {
    tracker.accept(event("a", EventType.LAUNCH_STARTED, 10_000));
    tracker.accept(event("b", EventType.LAUNCH_STARTED, 10_100));
    tracker.accept(event("a", EventType.LAUNCHED, 11_500));

    assertThat(registry.scrape()).contains(
        "# TYPE mpqemu_launches_total counter\n",
        "mpqemu_launches_total 2.0\n",
        "mpqemu_launch_failures_total 0.0\n",
        "# TYPE mpqemu_launch_seconds histogram\n",
        "mpqemu_launch_seconds_bucket{le=\"1.0\"} 0\n",
        "mpqemu_launch_seconds_bucket{le=\"2.5\"} 1\n",
        "mpqemu_launch_seconds_sum 1.5\n",
        "mpqemu_launch_seconds_count 1\n");
  }

  @Test
  @DisplayName("mpqemu_launch_seconds has exactly the buckets of LATENCY_BUCKETS and +Inf, none for percentiles")
  void buckets() {
    String[] bounds = registry.scrape().lines().filter(l -> l.startsWith("mpqemu_launch_seconds_bucket{"))
        .map(l -> l.substring(l.indexOf("le=\"") + 4, l.indexOf("\"}"))).toArray(String[]::new);

    assertThat(bounds).containsExactly("0.1", "0.25", "0.5", "1.0", "2.5", "5.0", "10.0", "30.0", "60.0", "120.0", "300.0",
        "+Inf");
  }

  @Test
  @DisplayName("LAUNCH_FAILED counts a failure and no latency; a LAUNCHED without its start is not observed")
  void failure() {
    tracker.accept(event("a", EventType.LAUNCH_STARTED, 10_000));
    tracker.accept(event("a", EventType.LAUNCH_FAILED, 10_300));
    tracker.accept(event("a", EventType.LAUNCHED, 10_600));
    tracker.accept(event("c", EventType.LAUNCHED, 10_600));

    assertThat(registry.scrape()).contains(
        "mpqemu_launches_total 1.0\n", "mpqemu_launch_failures_total 1.0\n", "mpqemu_launch_seconds_count 0\n");
  }
}
