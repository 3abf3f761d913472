package io.mpqemu.agent.bench;

import static org.assertj.core.api.Assertions.assertThat;

import io.mpqemu.agent.e2e.AgentHarness;
import io.mpqemu.agent.qemu.QemuCommandLine.Accelerator;
import io.mpqemu.agent.state.VmPaths;
import io.mpqemu.testing.TestGuest;
import io.mpqemu.v1.AgentVm;
import io.mpqemu.v1.Boot;
import io.mpqemu.v1.Disk;
import io.mpqemu.v1.ProxiedDevice;
import io.mpqemu.v1.VmSpec;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * The real Debian guest: how long building its image takes, and how long it takes to boot to its shell
 * prompt through the agent against the same boot by a bare launcher in the same run.
 *
 * <p>Run: {@code mvn -B -o verify -Pbench -pl node-agent -am -Dtest=RealGuestBootBenchmark}. Knobs:
 * {@code -Dbench.guestRuns=3} boots of each launcher, interleaved; {@code -Dbench.buildGuest=true}
 * builds the image afresh (with {@code deploy/build-guest.sh}, timed) instead of using the tests' copy.
 *
 * <p>Both boot the same VM: 512 MiB, 1 vCPU, {@code pc}, a {@code virtio-blk-pci} in a device process
 * holding a fresh sparse copy of the root image, the kernel and initrd given by descriptor, the command
 * line {@value TestGuest#CMDLINE} with what the accelerator needs (the same {@code QemuCommandLine}
 * builds both argvs). Agent: a confined agent in this JVM, from sending LaunchVm over gRPC; bare
 * ({@link BareLauncher}): the same processes, unconfined, no gRPC, events or state, from its first
 * step. Both stop at the prompt's first appearance in the console log, polled every 2 ms by the same
 * {@link ConsoleWatch}.
 */
class RealGuestBootBenchmark {

  private static final int RUNS = Integer.getInteger("bench.guestRuns", 3);
  private static final boolean BUILD = Boolean.parseBoolean(System.getProperty("bench.buildGuest", "true"));
  private static final long BOOT_WAIT_MILLIS = 300_000;

  private final List<String> report = new ArrayList<>();

  @Test
  void bootAgainstBareLauncher() throws Exception {
    Path guest;
    double buildSeconds = Double.NaN;
    if (BUILD) {
      guest = Files.createTempDirectory(Path.of("target"), "bench-guest").toAbsolutePath();
      long t0 = System.nanoTime();
      Process p = new ProcessBuilder(Path.of("../deploy/build-guest.sh").toAbsolutePath().toString(), guest.toString())
          .redirectErrorStream(true).start();
      String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      assertThat(p.waitFor(15, TimeUnit.MINUTES)).isTrue();
      assertThat(p.exitValue()).as(out).isZero();
      buildSeconds = (System.nanoTime() - t0) / 1e9;
    } else {
      guest = TestGuest.ensureBuilt();
    }
    List<Double> agentMs = new ArrayList<>();
    List<Double> bareMs = new ArrayList<>();
    String accelerator;
    Vertx vertx = Vertx.builder().with(new VertxOptions().setPreferNativeTransport(true)).build();
    try (AgentHarness agent = new AgentHarness().startInProcess()) {
      for (String f : List.of("vmlinuz", "initrd.img")) {
        Files.copy(guest.resolve(f), agent.imageRoot.resolve(f));
      }
      accelerator = agent.nodeInfo().getAccelerator();
      Accelerator accel = accelerator.equals("kvm") ? Accelerator.KVM : Accelerator.TCG;
      BareLauncher bare = new BareLauncher(vertx, agent.root.resolve("bare"));
      for (int i = 0; i < RUNS; i++) {
        agentMs.add(agentBoot(agent, guest, "vm-a" + i));
        bareMs.add(bareBoot(bare, agent, guest, "vm-b" + i, accel));
      }
    } finally {
      vertx.close().await();
    }
    line("real guest (Debian 12, linux-image-amd64), " + LocalDate.now() + ", " + cpus() + " CPUs, accelerator "
        + accelerator);
    line(BUILD ? String.format(Locale.ROOT, "image build (deploy/build-guest.sh, from scratch): %.1f s", buildSeconds)
        : "image build: not timed (-Dbench.buildGuest=false)");
    line(String.format(Locale.ROOT, "boot to the shell prompt, N = %d each (ms)   median      min      max", RUNS));
    line(row("agent (LaunchVm to prompt)", agentMs));
    line(row("bare launcher (to prompt)", bareMs));
    line(String.format(Locale.ROOT, "agent / bare (medians): %.2fx", median(agentMs) / median(bareMs)));
    Files.write(Path.of("target/bench-real-guest.txt"), report);
  }

  private double agentBoot(AgentHarness agent, Path guest, String vmId) throws Exception {
    TestGuest.copyRoot(guest, agent.imageRoot.resolve(vmId + ".img"));
    VmSpec spec = spec(vmId, vmId + ".img");
    double ms;
    try (ConsoleWatch watch = ConsoleWatch.start(VmPaths.of(agent.stateDir, vmId).consoleLog(), TestGuest.PROMPT)) {
      long t0 = System.nanoTime();
      AgentVm vm = agent.launch(vmId, spec);
      assertThat(vm.getProcessesCount()).isEqualTo(2);
      ms = (watch.awaitSeen(BOOT_WAIT_MILLIS) - t0) / 1e6;
    }
    agent.delete(vmId, true);
    Files.delete(agent.imageRoot.resolve(vmId + ".img"));
    return ms;
  }

  private double bareBoot(BareLauncher bare, AgentHarness agent, Path guest, String vmId, Accelerator accel)
      throws Exception {
    Path root = agent.imageRoot.resolve(vmId + ".img");
    TestGuest.copyRoot(guest, root);
    Map<String, Path> images = Map.of("root", root, "boot.kernel", agent.imageRoot.resolve("vmlinuz"),
        "boot.initrd", agent.imageRoot.resolve("initrd.img"));
    BareLauncher.Vm vm = null;
    try (ConsoleWatch watch = ConsoleWatch.start(bare.paths(vmId).consoleLog(), TestGuest.PROMPT)) {
      long t0 = System.nanoTime();
      vm = bare.launch(vmId, spec(vmId, root.getFileName().toString()), images, accel);
      return (watch.awaitSeen(BOOT_WAIT_MILLIS) - t0) / 1e6;
    } finally {
      if (vm != null) {
        bare.destroy(vm);
      }
      Files.delete(root);
    }
  }

  private static VmSpec spec(String vmId, String image) {
    return VmSpec.newBuilder().setName(vmId.substring(3)).setMemoryMib(512)
        .addDevices(ProxiedDevice.newBuilder().setId("root0").setDriver("virtio-blk-pci")
            .addDisks(Disk.newBuilder().setId("root").setImage(image)))
        .setBoot(Boot.newBuilder().setKernel("vmlinuz").setInitrd("initrd.img").setCmdline(TestGuest.CMDLINE))
        .build();
  }

  private static String row(String name, List<Double> ms) {
    return String.format(Locale.ROOT, "  %-30s %8.0f %8.0f %8.0f", name, median(ms),
        ms.stream().mapToDouble(Double::doubleValue).min().orElse(Double.NaN),
        ms.stream().mapToDouble(Double::doubleValue).max().orElse(Double.NaN));
  }

  private static double median(List<Double> ms) {
    List<Double> sorted = ms.stream().sorted().toList();
    int n = sorted.size();
    return n % 2 == 1 ? sorted.get(n / 2) : (sorted.get(n / 2 - 1) + sorted.get(n / 2)) / 2;
  }

  private static int cpus() {
    return Runtime.getRuntime().availableProcessors();
  }

  private void line(String s) {
    report.add(s);
    PrintStream out = System.out;
    out.println(s);
  }
}
