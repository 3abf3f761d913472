package io.mpqemu.agent.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.mpqemu.agent.process.ProcessTable;
import io.mpqemu.grpc.GrpcCallException;
import io.mpqemu.grpc.UnaryCalls;
import io.mpqemu.testing.Await;
import io.mpqemu.testing.ServiceJvm;
import io.mpqemu.v1.AgentVm;
import io.mpqemu.v1.EventType;
import io.mpqemu.v1.LaunchVmRequest;
import io.mpqemu.v1.NodeAgentServiceGrpcClient;
import io.mpqemu.v1.Phase;
import io.mpqemu.v1.ProcessStatus;
import io.mpqemu.v1.VmEvent;
import io.vertx.grpc.common.GrpcStatus;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

@DisplayName("VMs outlive the agent, and a new agent adopts them")
class AdoptionTest {

  private AgentHarness h;

  @BeforeEach
  void start() throws Exception {
    h = new AgentHarness();
  }

  @AfterEach
  void close() throws Exception {
    h.close();
  }

  private static List<Long> pids(AgentVm vm) {
    return vm.getProcessesList().stream().map(ProcessStatus::getPid).toList();
  }

  @Test
  @DisplayName("SIGTERM and then SIGKILL of the agent leave the VM running; each new agent adopts it, and it stops cleanly")
  void adoptsAfterTermAndKill() throws Exception {
    String image = h.bootImage("boot.img", "still here", false);
    AgentVm launched;
    try (ServiceJvm first = h.startJvm()) {
      launched = h.launch("vm-keep", Specs.lsi("keep", image));
      assertThat(first.terminate()).as("the agent exits on SIGTERM (a JVM reports 128 + 15)").isEqualTo(143);
    }
    assertThat(pids(launched)).hasSize(2).allMatch(ProcessTable::isRunning);

    try (ServiceJvm second = h.startJvm()) {
      AgentVm adopted = h.get("vm-keep");
      assertThat(adopted.getPhase()).isEqualTo(Phase.PHASE_RUNNING);
      assertThat(pids(adopted)).containsExactlyElementsOf(pids(launched));
      List<VmEvent> recent = h.watch("vm-keep", true);
      VmEvent adoptedEvent = AgentHarness.awaitEvent(recent, e -> e.getType() == EventType.ADOPTED, Duration.ofSeconds(5));
      assertThat(adoptedEvent.getVmSeq()).as("the per-VM sequence continues across restarts").isGreaterThan(4);
      second.kill9();
    }
    assertThat(pids(launched)).allMatch(ProcessTable::isRunning);

    try (ServiceJvm third = h.startJvm()) {
      assertThat(h.get("vm-keep").getPhase()).isEqualTo(Phase.PHASE_RUNNING);
      assertThat(h.console("vm-keep")).contains("still here");

      AgentVm stopped = h.stop("vm-keep", 1, false);

      assertThat(stopped.getPhase()).isEqualTo(Phase.PHASE_STOPPED);
      h.awaitNoQemu(Duration.ofSeconds(2));
      assertThat(third.log()).contains("event=ADOPTED");
    }
  }

  @Test
  @DisplayName("a VM whose main QEMU died while no agent ran is reported FAILED by the next agent, and its rest is gone")
  void reportsWhatDiedWhileDetached() throws Exception {
    String image = h.bootImage("boot.img", "hi", false);
    AgentVm doomed;
    AgentVm survivor;
    try (ServiceJvm first = h.startJvm()) {
      doomed = h.launch("vm-doomed", Specs.lsi("doomed", image));
      survivor = h.launch("vm-ok", Specs.lsi("ok", h.bootImage("other.img", "hi", false)));
      first.kill9();
    }
    long doomedMain = doomed.getProcessesList().stream().filter(p -> p.getName().equals("main")).findFirst().orElseThrow().getPid();
    ProcessHandle.of(doomedMain).orElseThrow().destroyForcibly();
    assertThat(ProcessTable.awaitGone(pids(doomed), Duration.ofSeconds(10)))
        .as("the device process ends by itself once the main QEMU is gone").isTrue();

    try (ServiceJvm second = h.startJvm()) {
      AgentVm failed = h.get("vm-doomed");
      assertThat(failed.getPhase()).isEqualTo(Phase.PHASE_FAILED);
      assertThat(failed.getReason()).isEqualTo("ExitedWhileDetached");
      assertThat(failed.getMessage()).contains("pid " + doomedMain);
      assertThat(h.get("vm-ok").getPhase()).isEqualTo(Phase.PHASE_RUNNING);
      assertThat(pids(h.get("vm-ok"))).containsExactlyElementsOf(pids(survivor));
      List<VmEvent> recent = h.watch(null, true);
      AgentHarness.awaitEvent(recent, e -> e.getVmId().equals("vm-doomed") && e.getType() == EventType.LOST_WHILE_DETACHED,
          Duration.ofSeconds(5));
      h.stop("vm-ok", 0, true);
      h.awaitNoQemu(Duration.ofSeconds(2));
    }
  }

  @Test
  @DisplayName("kill -9 of the agent in the middle of a launch: the next agent kills the half-launched processes and says so")
  void cleansUpInterruptedLaunch() throws Exception {
    String image = h.bootImage("boot.img", "hi", false);
    Path slowQemu = h.root.resolve("slow-main-qemu.sh");
    Files.copy(Path.of(AdoptionTest.class.getResource("/slow-main-qemu.sh").toURI()), slowQemu);
    // confined QEMU processes run it under uids of their own
    Files.setPosixFilePermissions(slowQemu, java.nio.file.attribute.PosixFilePermissions.fromString("rwxr-xr-x"));
    try (ServiceJvm first = h.startJvm("--qemu", slowQemu.toString())) {
      List<VmEvent> events = h.watch(null, false);
      var launch = UnaryCalls.call(h.grpcClient(), h.address(), NodeAgentServiceGrpcClient.LaunchVm,
          LaunchVmRequest.newBuilder().setVmId("vm-half").setSpec(Specs.lsi("half", image)).build(), Duration.ofSeconds(60));
      long devicePid = AgentHarness.awaitEvent(events, e -> e.getType() == EventType.PROCESS_STARTED
          && e.getProcess().getName().equals("lsi0"), Duration.ofSeconds(20)).getProcess().getPid();
      long mainPid = AgentHarness.awaitEvent(events, e -> e.getType() == EventType.PROCESS_STARTED
          && e.getProcess().getName().equals("main"), Duration.ofSeconds(20)).getProcess().getPid();
      h.awaitQemuPids(List.of(devicePid, mainPid), Duration.ofSeconds(5));
      Path record = h.vmDir("vm-half").resolve("vm.json");
      // the launch writes its record in the background
      Await.atMost(Duration.ofSeconds(5))
          .poll(() -> Files.exists(record) ? Files.readString(record) : "", text -> text.contains("\"main\""));
      assertThat(Files.readString(record)).contains("\"launchComplete\" : false").contains("\"main\"");

      first.kill9();

      assertThat(launch.toCompletionStage().toCompletableFuture().handle((r, e) -> e).get()).isNotNull();
      assertThat(ProcessTable.awaitGone(List.of(devicePid), Duration.ofSeconds(10)))
          .as("the device process exits by itself: the only other copy of its socketpair died with the agent").isTrue();
      assertThat(h.qemuPids()).as("nothing else ends the main QEMU while no agent runs").containsExactly(mainPid);
    }

    try (ServiceJvm second = h.startJvm()) {
      h.awaitNoQemu(Duration.ofSeconds(5));
      assertThat(h.vmDir("vm-half")).doesNotExist();
      assertThatThrownBy(() -> h.get("vm-half")).isInstanceOfSatisfying(GrpcCallException.class,
          e -> assertThat(e.status()).isEqualTo(GrpcStatus.NOT_FOUND));
      List<VmEvent> recent = h.watch(null, true);
      VmEvent abandoned = AgentHarness.awaitEvent(recent, e -> e.getType() == EventType.LAUNCH_ABANDONED, Duration.ofSeconds(5));
      assertThat(abandoned.getVmId()).isEqualTo("vm-half");
      assertThat(abandoned.getMessage()).contains("killed 1 process(es)").contains("removed its state directory");
      assertThat(second.log()).contains("LaunchAbandoned");

      AgentVm relaunched = h.launch("vm-half", Specs.lsi("half", image));

      assertThat(relaunched.getPhase()).as("the same VM launches normally afterwards").isEqualTo(Phase.PHASE_RUNNING);
      assertThat(h.qemuPids()).hasSize(2);
      h.stop("vm-half", 0, true);
    }
  }
}
