package io.mpqemu.agent.bench;

import static org.assertj.core.api.Assertions.assertThat;

import io.mpqemu.agent.e2e.AgentHarness;
import io.mpqemu.testing.ServiceJvm;
import io.mpqemu.v1.AgentVm;
import io.mpqemu.v1.Disk;
import io.mpqemu.v1.Phase;
import io.mpqemu.v1.ProxiedDevice;
import io.mpqemu.v1.VmSpec;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import org.junit.jupiter.api.Test;

/**
 * LaunchVm to RUNNING through the descriptor-passing launch path (posix_spawn, images opened by the
 * agent) against the path before it (ProcessBuilder under setsid, images opened by QEMU by path): two
 * agents in JVMs of their own, the old one from an earlier build's jar, launches interleaved so that
 * both see the same machine.
 *
 * <p>Run: build the earlier jar ({@code git worktree add /tmp/old ee25a76 && cd /tmp/old && mvn -B -o
 * -q package -DskipTests -pl node-agent -am}), then {@code mvn -B -o verify -Pbench -pl node-agent -am
 * -Dtest=SpawnPathBenchmark -Dsurefire.failIfNoSpecifiedTests=false
 * -Dbench.oldAgentJar=/tmp/old/node-agent/target/node-agent.jar}. Knobs: {@code -Dbench.runs=30}.
 */
class SpawnPathBenchmark {

  @Test
  void launchLatencyBeforeAndAfter() throws Exception {
    String oldJar = System.getProperty("bench.oldAgentJar", "/tmp/old-agent/node-agent/target/node-agent.jar");
    assertThat(Path.of(oldJar)).as("the earlier build's agent jar (-Dbench.oldAgentJar)").exists();
    int runs = Integer.getInteger("bench.runs", 30);
    try (AgentHarness before = new AgentHarness(); AgentHarness after = new AgentHarness()) {
      ServiceJvm oldJvm = before.startJvm(oldJar, List.of("-Xmx256m"), "--accelerator", "tcg");
      ServiceJvm newJvm = after.startJvm(null, List.of("-Xmx256m"), "--accelerator", "tcg");
      VmSpec spec = spec(before.bootImage("boot.img", "bench", false));
      after.bootImage("boot.img", "bench", false);
      for (int i = 0; i < 5; i++) { // warm-up: class loading, JIT, page cache
        launchAndDelete(before, spec, "warm-" + i);
        launchAndDelete(after, spec, "warm-" + i);
      }
      double[] old = new double[runs];
      double[] now = new double[runs];
      for (int i = 0; i < runs; i++) {
        if (i % 2 == 0) {
          old[i] = launchAndDelete(before, spec, "run-" + i);
          now[i] = launchAndDelete(after, spec, "run-" + i);
        } else {
          now[i] = launchAndDelete(after, spec, "run-" + i);
          old[i] = launchAndDelete(before, spec, "run-" + i);
        }
      }
      StringBuilder report = new StringBuilder();
      report.append(String.format(Locale.ROOT, "LaunchVm to RUNNING, one lsi53c895a with a raw disk, TCG, N = %d each (ms)%n", runs));
      report.append(String.format(Locale.ROOT, "  before (ProcessBuilder + setsid, images by path):  median %6.1f  p95 %6.1f%n",
          quantile(old, 0.5), quantile(old, 0.95)));
      report.append(String.format(Locale.ROOT, "  after  (posix_spawn, images as descriptors):      median %6.1f  p95 %6.1f%n",
          quantile(now, 0.5), quantile(now, 0.95)));
      report.append(String.format(Locale.ROOT, "  ratio after/before: median %.2f, p95 %.2f%n",
          quantile(now, 0.5) / quantile(old, 0.5), quantile(now, 0.95) / quantile(old, 0.95)));
      System.out.print(report);
      Files.writeString(Path.of("target", "bench-spawn-path.txt"), report);
      oldJvm.close();
      newJvm.close();
    }
  }

  private static double launchAndDelete(AgentHarness agent, VmSpec spec, String id) {
    long start = System.nanoTime();
    AgentVm vm = agent.launch(id, spec.toBuilder().setName(id).build());
    double ms = (System.nanoTime() - start) / 1e6;
    assertThat(vm.getPhase()).isEqualTo(Phase.PHASE_RUNNING);
    agent.stop(id, 0, true);
    agent.delete(id, false);
    return ms;
  }

  private static VmSpec spec(String image) {
    return VmSpec.newBuilder().setName("bench").setMemoryMib(64)
        .addDevices(ProxiedDevice.newBuilder().setId("lsi0").setDriver("lsi53c895a")
            .addDisks(Disk.newBuilder().setId("boot").setImage(image)))
        .build();
  }

  private static double quantile(double[] values, double q) {
    double[] sorted = values.clone();
    Arrays.sort(sorted);
    return sorted[(int) Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)];
  }
}
