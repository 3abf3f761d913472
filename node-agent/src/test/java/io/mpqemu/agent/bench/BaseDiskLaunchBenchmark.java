package io.mpqemu.agent.bench;

import static org.assertj.core.api.Assertions.assertThat;

import io.mpqemu.agent.e2e.AgentHarness;
import io.mpqemu.v1.AgentVm;
import io.mpqemu.v1.Disk;
import io.mpqemu.v1.Phase;
import io.mpqemu.v1.ProxiedDevice;
import io.mpqemu.v1.VmSpec;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.junit.jupiter.api.Test;

/**
 * What a disk over a catalog base costs a launch: the agent makes the VM's qcow2 overlay (qemu-img) and
 * hands base and overlay over as two descriptors. The same one-lsi53c895a boot-sector VM is launched with
 * its disk over a catalog base and with the same bytes as a raw image disk, interleaved; each from sending
 * LaunchVm to its answer (the guest runs), then stopped and deleted (which removes the overlay), so every
 * base launch makes a new overlay.
 *
 * <p>Run: {@code mvn -B -o verify -Pbench -pl test-fixtures,proto,common,node-agent -Dtest=BaseDiskLaunchBenchmark}.
 * Knob: {@code -Dbench.runs=10} (after 2 warm-ups of each).
 */
class BaseDiskLaunchBenchmark {

  private static final int RUNS = Integer.getInteger("bench.runs", 10);

  @Test
  void baseAgainstRaw() throws Exception {
    List<Double> base = new ArrayList<>();
    List<Double> raw = new ArrayList<>();
    try (AgentHarness agent = new AgentHarness().startInProcess()) {
      String image = agent.bootImage("boot.img", "Hello", false);
      agent.importImage("boot", Files.readAllBytes(agent.imageRoot.resolve(image)));
      for (int i = -2; i < RUNS; i++) {
        double b = launch(agent, "vm-b" + (i + 2), Disk.newBuilder().setId("boot").setBase("boot"));
        double r = launch(agent, "vm-r" + (i + 2), Disk.newBuilder().setId("boot").setImage(image));
        if (i >= 0) {
          base.add(b);
          raw.add(r);
        }
      }
    }
    List<String> report = List.of(
        "disk over a catalog base vs a raw image disk, " + LocalDate.now() + ", LaunchVm to RUNNING, N = " + RUNS,
        String.format(Locale.ROOT, "  over a base (overlay made): median %.1f ms, min %.1f, max %.1f", median(base),
            min(base), max(base)),
        String.format(Locale.ROOT, "  raw image disk:             median %.1f ms, min %.1f, max %.1f", median(raw),
            min(raw), max(raw)),
        String.format(Locale.ROOT, "  base / raw (medians): %.2fx", median(base) / median(raw)));
    report.forEach(System.out::println);
    Files.write(Path.of("target/bench-base-disk.txt"), report);
  }

  private static double launch(AgentHarness agent, String vmId, Disk.Builder disk) {
    VmSpec spec = VmSpec.newBuilder().setName(vmId.substring(3)).setMemoryMib(64)
        .addDevices(ProxiedDevice.newBuilder().setId("lsi0").setDriver("lsi53c895a").addDisks(disk)).build();
    long t0 = System.nanoTime();
    AgentVm vm = agent.launch(vmId, spec);
    double ms = (System.nanoTime() - t0) / 1e6;
    assertThat(vm.getPhase()).isEqualTo(Phase.PHASE_RUNNING);
    agent.delete(vmId, true);
    return ms;
  }

  private static double median(List<Double> xs) {
    List<Double> s = xs.stream().sorted().toList();
    return s.size() % 2 == 1 ? s.get(s.size() / 2) : (s.get(s.size() / 2 - 1) + s.get(s.size() / 2)) / 2;
  }

  private static double min(List<Double> xs) {
    return xs.stream().mapToDouble(Double::doubleValue).min().orElse(Double.NaN);
  }

  private static double max(List<Double> xs) {
    return xs.stream().mapToDouble(Double::doubleValue).max().orElse(Double.NaN);
  }
}
