package io.mpqemu.agent.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.mpqemu.agent.qemu.BootImage;
import io.mpqemu.grpc.GrpcCallException;
import io.mpqemu.v1.AgentVm;
import io.mpqemu.v1.EventType;
import io.mpqemu.v1.NodeInfo;
import io.mpqemu.v1.Phase;
import io.mpqemu.v1.ProcessRole;
import io.mpqemu.v1.ProcessState;
import io.mpqemu.v1.VmEvent;
import io.mpqemu.v1.VmSpec;
import io.vertx.grpc.common.GrpcStatus;
import java.nio.file.Files;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

@DisplayName("Launching and stopping multi-process VMs through the agent's gRPC API")
class LaunchAndStopTest extends InProcessAgentTest {

  @Test
  @DisplayName("a VM whose proxied lsi53c895a serves the boot disk boots, and its line shows in GetConsoleLog")
  void bootsThroughProxiedLsi() throws Exception {
    String image = agent.bootImage("boot.img", "Hello from lsi0", false);

    AgentVm vm = agent.launch("vm-1", Specs.lsi("demo", image));

    assertThat(vm.getPhase()).isEqualTo(Phase.PHASE_RUNNING);
    assertThat(vm.getProcessesList()).extracting(p -> p.getName() + "/" + p.getRole() + "/" + p.getState())
        .containsExactly("lsi0/PROCESS_ROLE_DEVICE/PROCESS_STATE_RUNNING", "main/PROCESS_ROLE_MAIN/PROCESS_STATE_RUNNING");
    assertThat(agent.awaitConsole("vm-1", "Hello from lsi0", AgentHarness.BOOT_WITHIN)).contains("Hello from lsi0\r\n");
    assertThat(agent.qemuPids()).hasSize(2);
    assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(agent.vmDir("vm-1")))).isEqualTo("rwx------");
    assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(agent.vmDir("vm-1").resolve("qmp.sock"))))
        .isEqualTo("rw-------");

    AgentVm stopped = agent.stop("vm-1", 1, false);

    assertThat(stopped.getPhase()).isEqualTo(Phase.PHASE_STOPPED);
    assertThat(stopped.getProcessesList()).allMatch(p -> p.getState() == ProcessState.PROCESS_STATE_EXITED);
    agent.awaitNoQemu(Duration.ofSeconds(2));
  }

  @Test
  @DisplayName("with two proxied devices of different kinds (lsi53c895a, nvme), the guest reads through both")
  void twoDevicesOfDifferentKinds() throws Exception {
    BootImage.writeChainReader(agent.imageRoot.resolve("boot.img"), "booted from lsi0");
    BootImage.writeDataDisk(agent.imageRoot.resolve("data.img"), "read through nvme0");
    VmSpec spec = VmSpec.newBuilder().setName("two").setMemoryMib(64)
        .addDevices(Specs.device("lsi0", "lsi53c895a", "boot", "boot.img"))
        .addDevices(Specs.device("nvme0", "nvme", "data", "data.img"))
        .build();

    AgentVm vm = agent.launch("vm-two", spec);

    assertThat(vm.getProcessesList()).extracting(p -> p.getName()).containsExactly("lsi0", "nvme0", "main");
    assertThat(agent.awaitConsole("vm-two", "read through nvme0\r\n", AgentHarness.BOOT_WITHIN))
        .contains("booted from lsi0\r\nread through nvme0\r\n");
    assertThat(agent.qemuPids()).hasSize(3);
  }

  @Test
  @DisplayName("on a q35 machine, a guest boots from a proxied virtio-blk-pci and reads through a proxied lsi53c895a")
  void q35WithVirtioAndLsi() throws Exception {
    BootImage.writeChainReader(agent.imageRoot.resolve("boot.img"), "booted from vblk0 on q35");
    BootImage.writeDataDisk(agent.imageRoot.resolve("data.img"), "read through lsi0");
    VmSpec spec = VmSpec.newBuilder().setName("q").setMemoryMib(64).setMachine("q35")
        .addDevices(Specs.device("vblk0", "virtio-blk-pci", "boot", "boot.img"))
        .addDevices(Specs.device("lsi0", "lsi53c895a", "data", "data.img"))
        .build();

    agent.launch("vm-q35", spec);

    assertThat(agent.awaitConsole("vm-q35", "read through lsi0\r\n", AgentHarness.BOOT_WITHIN))
        .contains("booted from vblk0 on q35\r\n").contains("read through lsi0\r\n");
  }

  @Test
  @DisplayName("events go out on the bus in launch order with a gap-free per-VM sequence")
  void eventsInOrder() throws Exception {
    String image = agent.bootImage("boot.img", "hi", false);

    agent.launch("vm-ev", Specs.lsi("ev", image));
    agent.stop("vm-ev", 0, true);

    VmEvent last = agent.awaitBusEvent(e -> e.getType() == EventType.VM_STOPPED, Duration.ofSeconds(5));
    List<VmEvent> events = agent.busEventsOf("vm-ev");
    assertThat(events).extracting(VmEvent::getVmSeq).containsExactly(
        events.stream().mapToLong(e -> 0).map(x -> 0).boxed().toList().isEmpty() ? null
            : java.util.stream.LongStream.rangeClosed(1, events.size()).boxed().toArray(Long[]::new));
    assertThat(events.subList(0, 4)).extracting(VmEvent::getType).containsExactly(
        EventType.LAUNCH_STARTED, EventType.PROCESS_STARTED, EventType.PROCESS_STARTED, EventType.LAUNCHED);
    assertThat(events.get(1).getProcess().getRole()).as("the main QEMU starts first").isEqualTo(ProcessRole.PROCESS_ROLE_MAIN);
    assertThat(events.get(2).getProcess().getRole()).isEqualTo(ProcessRole.PROCESS_ROLE_DEVICE);
    assertThat(events.get(2).getProcess().getName()).isEqualTo("lsi0");
    assertThat(events.get(3).getPhase()).isEqualTo(Phase.PHASE_RUNNING);
    assertThat(events).allSatisfy(e -> {
      assertThat(e.getVmName()).isEqualTo("ev");
      assertThat(e.getNode()).isEqualTo("test-node");
      assertThat(e.getTime().getSeconds()).isPositive();
      assertThat(e.getSeq()).isZero();
    });
    assertThat(last.getPhase()).isEqualTo(Phase.PHASE_STOPPED);
  }

  @Test
  @DisplayName("launching the same id and spec again answers with the running VM; another spec is ALREADY_EXISTS")
  void launchIsIdempotent() throws Exception {
    String image = agent.bootImage("boot.img", "hi", false);
    VmSpec spec = Specs.lsi("idem", image);
    AgentVm first = agent.launch("vm-idem", spec);

    AgentVm again = agent.launch("vm-idem", spec);

    assertThat(again.getProcessesList()).extracting(p -> p.getPid())
        .containsExactlyElementsOf(first.getProcessesList().stream().map(p -> p.getPid()).toList());
    assertThat(agent.qemuPids()).hasSize(2);
    assertThatThrownBy(() -> agent.launch("vm-idem", spec.toBuilder().setMemoryMib(96).build()))
        .isInstanceOfSatisfying(GrpcCallException.class, e -> {
          assertThat(e.status()).isEqualTo(GrpcStatus.ALREADY_EXISTS);
          assertThat(e.serverMessage()).contains("vm-idem").contains("another spec");
        });
  }

  @Test
  @DisplayName("a stopped VM launches again with the same id and spec, and delete removes its state directory")
  void relaunchThenDelete() throws Exception {
    String image = agent.bootImage("boot.img", "again", false);
    VmSpec spec = Specs.lsi("re", image);
    agent.launch("vm-re", spec);
    agent.stop("vm-re", 0, true);

    AgentVm relaunched = agent.launch("vm-re", spec);

    assertThat(relaunched.getPhase()).isEqualTo(Phase.PHASE_RUNNING);
    assertThatThrownBy(() -> agent.delete("vm-re", false)).isInstanceOfSatisfying(GrpcCallException.class,
        e -> assertThat(e.status()).isEqualTo(GrpcStatus.FAILED_PRECONDITION));
    agent.delete("vm-re", true);
    assertThat(agent.vmDir("vm-re")).doesNotExist();
    agent.awaitNoQemu(Duration.ofSeconds(2));
    assertThatThrownBy(() -> agent.get("vm-re")).isInstanceOfSatisfying(GrpcCallException.class,
        e -> assertThat(e.status()).isEqualTo(GrpcStatus.NOT_FOUND));
  }

  @Test
  @DisplayName("GetNodeInfo reports QEMU's version, multi-process support, the accelerator and why, and capacity")
  void nodeInfo() throws Exception {
    NodeInfo info = agent.nodeInfo();

    assertThat(info.getNodeId()).isEqualTo("test-node");
    assertThat(info.getQemuVersion()).startsWith("QEMU emulator version");
    assertThat(info.getMultiprocessSupported()).isTrue();
    // KVM only where it runs the probe guest to its end (QemuProbeTest); the reason is reported either way,
    // and confinement changes nothing of the verdict: the probe run as root, unconfined, agrees
    assertThat(info.getAccelerator()).as(info.getAcceleratorDetail()).isEqualTo(
        new io.mpqemu.agent.node.QemuProbe(java.nio.file.Path.of("qemu-system-x86_64"), argv -> argv).probe("auto")
            .accelerator().qemuName());
    assertThat(info.getAcceleratorDetail().startsWith("KVM is usable")).as(info.getAcceleratorDetail())
        .isEqualTo(info.getAccelerator().equals("kvm"));
    if (!Files.isWritable(java.nio.file.Path.of("/dev/kvm"))) {
      assertThat(info.getAccelerator()).isEqualTo("tcg");
    }
    assertThat(info.getCapacity().getMemoryMib()).isEqualTo(4096);
    assertThat(info.getAllowedDriversList()).contains("lsi53c895a", "nvme", "virtio-blk-pci", "megasas");
    assertThat(info.getLabelsMap()).containsEntry("zone", "test");
  }
}
