package io.mpqemu.agent.vm;

import static org.assertj.core.api.Assertions.assertThat;

import io.mpqemu.agent.images.OpenImages;
import io.mpqemu.testing.Await;
import io.mpqemu.v1.AgentVm;
import io.mpqemu.v1.EventType;
import io.mpqemu.v1.Phase;
import io.mpqemu.v1.VmEvent;
import io.mpqemu.v1.VmSpec;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.Map;
import java.util.function.Consumer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

@DisplayName("Launching a VM, step by step, against fake processes and QMP")
class VmLaunchTest {

  private SupervisorFixture f;
  private final VmSpec spec = SupervisorFixture.oneDevice("web");

  @BeforeEach
  void start() throws Exception {
    f = new SupervisorFixture();
  }

  @AfterEach
  void close() throws Exception {
    f.close();
  }

  @Test
  @DisplayName("a launch starts the paused main QEMU, then the device process while QEMU starts, wires the proxy over QMP"
      + " and runs the guest")
  void launchInOrder() throws Exception {
    VmSupervisor sup = f.supervisor("vm-1", spec);

    AgentVm vm = f.await(() -> sup.launch(spec, 1, OpenImages.none()));

    assertThat(vm.getPhase()).isEqualTo(Phase.PHASE_RUNNING);
    assertThat(vm.getProcessesList()).extracting(p -> p.getName()).containsExactly("lsi0", "main");
    assertThat(f.types()).containsExactly(EventType.LAUNCH_STARTED, EventType.PROCESS_STARTED,
        EventType.PROCESS_STARTED, EventType.LAUNCHED);
    assertThat(f.processes.started().get(0).isDevice()).as("the main QEMU starts first").isFalse();
    FakeProcesses.Given device = f.processes.given(f.processes.started().get(1));
    assertThat(device.descriptors()).as("socket, log, log").containsExactly(0, 1, 2);
    assertThat(device.marker()).contains("MPQEMU_VM=vm-1", "MPQEMU_PROCESS=lsi0");
    FakeProcesses.Given main = f.processes.given(f.processes.started().get(0));
    assertThat(main.marker()).contains("MPQEMU_PROCESS=main");
    assertThat(main.descriptors()).as("stdin, log, log, QMP socket, console log, console socket")
        .containsExactly(0, 1, 2, 3, 4, 5);
    Path qmpSocket = f.store.paths("vm-1").qmpSocket();
    assertThat(Integer.toOctalString((Integer) Files.getAttribute(qmpSocket, "unix:mode", LinkOption.NOFOLLOW_LINKS)))
        .as("the agent made the QMP socket, for the agent alone").isEqualTo("140600");
    f.qmp.assertCommands("getfd", "device_add", "cont");
    assertThat(Files.readString(f.store.paths("vm-1").stateFile())).contains("\"launchComplete\" : true");
    assertThat(f.events).extracting(VmEvent::getVmSeq).containsExactly(1L, 2L, 3L, 4L);
  }

  @Test
  @DisplayName("a stale file where the QMP socket goes (an agent killed before it removed it) is replaced at launch")
  void staleQmpSocketReplaced() throws Exception {
    Path qmpSocket = f.store.paths("vm-1").qmpSocket();
    Files.createDirectories(qmpSocket.getParent());
    Files.writeString(qmpSocket, "left behind");

    f.running("vm-1", spec);

    assertThat(Integer.toOctalString((Integer) Files.getAttribute(qmpSocket, "unix:mode", LinkOption.NOFOLLOW_LINKS)))
        .isEqualTo("140600");
  }

  /** Makes step {@code step} fail. */
  private void breakStep(String step) throws Exception {
    switch (step) {
      case "create-state-dir" -> Files.createFile(f.vmDir("vm-1")); // a file where the directory goes
      case "open-socketpairs" -> f.failPair(1);
      case "start-main-process" -> f.processes.failStart(1);
      case "start-device-processes" -> f.processes.failStart(2); // the main QEMU runs by then
      case "connect-qmp" -> f.qmpUnreachable("connection refused");
      case "add-proxy-devices" -> f.qmp.failing("device_add", "Bus 'pci.0' does not support hotplugging");
      case "start-guest" -> f.qmp.failing("cont", "resetting the virtual machine is required");
      default -> throw new IllegalArgumentException(step);
    }
  }

  @ParameterizedTest(name = "{0}")
  @ValueSource(strings = {"create-state-dir", "start-main-process", "open-socketpairs", "start-device-processes",
      "connect-qmp", "add-proxy-devices", "start-guest"})
  @DisplayName("a failed step kills what the launch started, removes the state directory and names the step")
  void failedStepRollsBack(String step) throws Exception {
    breakStep(step);
    VmSupervisor sup = f.supervisor("vm-1", spec);

    Throwable failure = f.awaitFailure(() -> sup.launch(spec, 1, OpenImages.none()));

    assertThat(failure).isInstanceOfSatisfying(VmException.class, e -> {
      assertThat(e.kind()).isEqualTo(VmException.Kind.LAUNCH_FAILED);
      assertThat(e).hasMessageContaining("launch failed at step " + step + ": ").hasMessageEndingWith("nothing was left running");
    });
    VmEvent failed = f.awaitEvent(EventType.LAUNCH_FAILED);
    assertThat(failed.getPhase()).isEqualTo(Phase.PHASE_FAILED);
    assertThat(failed.getMessage()).startsWith("launch failed at step " + step + ": ");
    f.processes.assertNoneRunning();
    assertThat(f.vmDir("vm-1")).doesNotExist();
    assertThat(f.onLoop(sup::forgotten)).as("a failed launch leaves nothing the agent knows").isTrue();
  }

  @Test
  @DisplayName("a device process that exits during a launch fails the step under way, naming the process")
  void deviceExitDuringLaunch() throws Exception {
    f.qmp.hanging("device_add").onCommand("device_add", () -> f.processes.device().exit(1));
    VmSupervisor sup = f.supervisor("vm-1", spec);

    Throwable failure = f.awaitFailure(() -> sup.launch(spec, 1, OpenImages.none()));

    long pid = f.processes.device().pid();
    assertThat(failure).hasMessageContaining("launch failed at step add-proxy-devices: device lsi0 process (pid "
        + pid + ") exited during launch, exit status 1");
    f.processes.assertNoneRunning();
    assertThat(f.processes.main().kills()).isEqualTo(1);
    assertThat(f.typesFrom(EventType.PROCESS_EXITED)).endsWith(EventType.LAUNCH_FAILED);
  }

  @Test
  @DisplayName("a device process that exits while the main QEMU is still starting fails the launch at connect-qmp,"
      + " and the main QEMU started before it is killed")
  void deviceExitWhileMainStarts() throws Exception {
    io.vertx.core.Promise<Void> greeting = f.holdQmpGreeting();
    VmSupervisor sup = f.supervisor("vm-1", spec);

    io.vertx.core.Future<AgentVm> launch = f.onLoop(() -> sup.launch(spec, 1, OpenImages.none()));
    Await.atMost(java.time.Duration.ofSeconds(5)).until(() -> f.processes.started().size(), n -> n == 2,
        n -> n + " process(es) started, not the main QEMU and the device");
    f.processes.device().exit(1);
    Throwable failure = f.awaitFailure(() -> launch);

    long pid = f.processes.device().pid();
    assertThat(failure).hasMessageContaining("launch failed at step connect-qmp: device lsi0 process (pid " + pid
        + ") exited during launch, exit status 1").hasMessageEndingWith("nothing was left running");
    assertThat(f.processes.main().kills()).isEqualTo(1);
    f.processes.assertNoneRunning();
    assertThat(f.vmDir("vm-1")).doesNotExist();
    f.onLoop(() -> greeting.complete()); // QEMU's greeting after all: the launch that gave up closes that connection
    Await.atMost(java.time.Duration.ofSeconds(5)).until(f.qmp::isClosed, closed -> closed, closed -> "QMP left open");
    f.qmp.assertCommands();
    assertThat(f.onLoop(sup::forgotten)).isTrue();
  }

  @Test
  @DisplayName("launching a VM that runs answers it as it is, without a second launch")
  void launchIsIdempotent() {
    VmSupervisor sup = f.running("vm-1", spec);
    Consumer<Integer> startedCount = n -> assertThat(f.processes.started()).hasSize(n);
    startedCount.accept(2);

    AgentVm again = f.await(() -> sup.launch(spec, 1, OpenImages.none()));

    assertThat(again.getPhase()).isEqualTo(Phase.PHASE_RUNNING);
    startedCount.accept(2);
  }
}
