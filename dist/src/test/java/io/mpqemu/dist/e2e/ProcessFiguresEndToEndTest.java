package io.mpqemu.dist.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import io.mpqemu.testing.Await;
import io.mpqemu.v1.DesiredState;
import io.mpqemu.v1.Phase;
import io.mpqemu.v1.ProcessStatus;
import io.mpqemu.v1.Vm;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

@DisplayName("The control plane's VM status carries each process's CPU seconds and memory from its agent")
class ProcessFiguresEndToEndTest {

  private static final Duration WAIT = Duration.ofSeconds(30);
  private static final long MIB = 1024 * 1024;
  private Fleet fleet;

  @BeforeEach
  void start() throws Exception {
    fleet = new Fleet().startAgent("node-a", Map.of("zone", "a")).startControlPlane();
  }

  @AfterEach
  void close() throws Exception {
    fleet.close();
  }

  @Test
  @DisplayName("a running VM's GetVm shows CPU seconds and resident memory for every process once a reconciliation ran")
  void figuresPassThrough() throws Exception {
    Vm created = fleet.create(Fleet.lsi("fig", fleet.bootImage("boot.img", "Hello figures")), DesiredState.RUNNING);
    fleet.awaitPhase(created.getId(), Phase.PHASE_RUNNING, WAIT);

    // the agent samples every 2 s and this fleet's control plane reconciles every 2 s
    Vm vm = Await.atMost(WAIT).every(Duration.ofMillis(200)).until(() -> fleet.get(created.getId()),
        v -> v.getStatus().getProcessesCount() == 2 && v.getStatus().getProcessesList().stream()
            .allMatch(p -> p.getCpuSeconds() > 0 && p.getRssBytes() > MIB),
        v -> "processes without figures: " + v.getStatus().getProcessesList());

    assertThat(vm.getStatus().getProcessesList()).extracting(ProcessStatus::getName).containsExactly("lsi0", "main");
    assertThat(vm.getStatus().getPhase()).isEqualTo(Phase.PHASE_RUNNING);
  }
}
