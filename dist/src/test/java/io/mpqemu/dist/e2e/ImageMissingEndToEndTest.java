package io.mpqemu.dist.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import io.mpqemu.testing.Await;
import io.mpqemu.v1.DesiredState;
import io.mpqemu.v1.EventType;
import io.mpqemu.v1.Phase;
import io.mpqemu.v1.Vm;
import io.mpqemu.v1.VmEvent;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/**
 * A VM whose image is missing on its node: it waits PENDING with reason ImageMissing naming the disk
 * and the node, one event says so, the launch is retried after 1 s, 2 s, 4 s, then the maximum (4 s in
 * {@link Fleet}'s config, while reconciliation runs every 2 s), and it runs once the image is in place.
 */
@DisplayName("A VM whose image is missing backs off, says why, and runs once the image is there")
class ImageMissingEndToEndTest {

  private static final Pattern ATTEMPT = Pattern.compile("\\(attempt (\\d+); next in (\\d+) ms\\)");
  private Fleet fleet;

  @BeforeEach
  void start() throws Exception {
    fleet = new Fleet().startAgent("node-a", Map.of()).startControlPlane();
  }

  @AfterEach
  void close() throws Exception {
    fleet.close();
  }

  @Test
  @DisplayName("PENDING/ImageMissing with one event, gaps of 1, 2, 4, 4 s between attempts, then RUNNING")
  void backsOffThenRuns() throws Exception {
    List<VmEvent> events = fleet.watch(0, null);
    Vm vm = fleet.create(Fleet.lsi("waiting", "later.img"), DesiredState.RUNNING);

    // the time each attempt was first seen in the VM's status
    Map<Integer, Long> seen = new LinkedHashMap<>();
    Vm last = Await.atMost(Duration.ofSeconds(40)).every(Duration.ofMillis(20)).until(() -> {
      Vm now = fleet.get(vm.getId());
      Matcher m = ATTEMPT.matcher(now.getStatus().getMessage());
      if (m.find()) {
        seen.putIfAbsent(Integer.parseInt(m.group(1)), System.nanoTime());
      }
      return now;
    }, now -> seen.containsKey(5), now -> "attempts seen " + seen.keySet() + "; status " + now.getStatus());

    assertThat(last.getStatus().getPhase()).isEqualTo(Phase.PHASE_PENDING);
    assertThat(last.getStatus().getReason()).isEqualTo("ImageMissing");
    assertThat(last.getStatus().getNode()).isEqualTo("node-a");
    assertThat(last.getStatus().getMessage()).contains("node node-a")
        .contains("devices[0].disks[0].image: image 'later.img' does not exist under this node's image root");
    assertThat(seen.keySet()).containsExactly(1, 2, 3, 4, 5);
    List<Long> gapsMs = new ArrayList<>();
    for (int i = 2; i <= 5; i++) {
      gapsMs.add((seen.get(i) - seen.get(i - 1)) / 1_000_000);
    }
    assertThat(gapsMs.get(0)).as("gaps %s", gapsMs).isBetween(800L, 1900L);
    assertThat(gapsMs.get(1)).as("gaps %s", gapsMs).isBetween(1800L, 2900L);
    assertThat(gapsMs.get(2)).as("gaps %s", gapsMs).isBetween(3800L, 4900L);
    assertThat(gapsMs.get(3)).as("gaps %s: the maximum, not 8 s", gapsMs).isBetween(3800L, 4900L);
    List<VmEvent> missing = events.stream().filter(e -> e.getVmId().equals(vm.getId()))
        .filter(e -> e.getReason().equals("ImageMissing")).toList();
    assertThat(missing).as("events %s", Fleet.summary(events)).hasSize(1);
    assertThat(missing.get(0).getType()).isEqualTo(EventType.DISPATCH_FAILED);
    assertThat(missing.get(0).getMessage()).contains("node node-a").contains("devices[0].disks[0].image");
    assertThat(events.stream().filter(e -> e.getVmId().equals(vm.getId()))
        .filter(e -> e.getType() == EventType.SCHEDULED || e.getType() == EventType.RECONCILED))
        .as("events %s: placed once, never relaunched by reconciliation", Fleet.summary(events)).hasSize(1);

    fleet.bootImage("later.img", "Hello at last");

    Vm running = fleet.awaitPhase(vm.getId(), Phase.PHASE_RUNNING, Duration.ofSeconds(30));
    assertThat(running.getStatus().getNode()).isEqualTo("node-a");
  }
}
