package io.mpqemu.agent.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.mpqemu.agent.AgentConfig;
import io.mpqemu.grpc.GrpcCallException;
import io.mpqemu.spec.NodeLimits;
import io.mpqemu.v1.AgentConsoleLogRequest;
import io.mpqemu.v1.AgentDeleteVmRequest;
import io.mpqemu.v1.AgentGetVmRequest;
import io.mpqemu.v1.AgentStopVmRequest;
import io.mpqemu.v1.AgentVm;
import io.mpqemu.v1.Disk;
import io.mpqemu.v1.LaunchVmRequest;
import io.mpqemu.v1.NodeAgentServiceGrpcClient;
import io.mpqemu.v1.ProcessStatus;
import io.mpqemu.v1.ProxiedDevice;
import io.mpqemu.v1.VmSpec;
import io.vertx.grpc.common.GrpcStatus;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.function.Consumer;
import java.util.function.UnaryOperator;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Bad requests sent through gRPC to a real agent: each is refused with the right status and a message
 * that names what to fix, and none of them starts a process or leaves a state directory behind.
 */
@DisplayName("Bad requests to the agent are refused with a status and a message that says what to fix, and leave nothing behind")
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class BadRequestTest {

  private static final String BOOT = "boot.img";
  private static final String[] INJECTIONS = {"lsi0,fd=3", "x\",\"driver\":\"evil", "a\nb"};

  private AgentHarness agent;

  @BeforeAll
  void start() throws Exception {
    agent = new AgentHarness().startInProcess();
    agent.bootImage(BOOT, "never booted", false);
    Path outside = Files.createDirectories(agent.root.resolve("outside"));
    Files.write(outside.resolve("secret.img"), new byte[512]);
    Files.createSymbolicLink(agent.imageRoot.resolve("escape.img"), outside.resolve("secret.img"));
    Files.createSymbolicLink(agent.imageRoot.resolve("escape-dir"), outside);
    Files.createSymbolicLink(agent.imageRoot.resolve("dangling.img"), outside.resolve("nothing.img"));
    Files.createDirectories(agent.imageRoot.resolve("a-directory.img"));
  }

  @AfterAll
  void close() throws Exception {
    agent.close();
  }

  /** A row that wrongly succeeded must not spoil the rows after it. */
  @AfterEach
  void removeWhateverAVmLeft() {
    for (AgentVm vm : agent.list()) {
      agent.delete(vm.getVmId(), true);
    }
  }

  // ------------------------------------------------------------------ the table

  /** One bad request: the call, the status it must get, and what its message must say. */
  record BadRequest(String name, Consumer<AgentHarness> call, GrpcStatus status, List<String> mustSay) {
    @Override
    public String toString() {
      return name;
    }
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("badRequests")
  @DisplayName("a bad request")
  void refused(BadRequest row) throws Exception {
    assertRefused(agent, row);
  }

  Stream<BadRequest> badRequests() {
    List<BadRequest> rows = new ArrayList<>();
    VmSpec ok = Specs.lsi("bad", BOOT);
    String image = "devices[0].disks[0].image";

    // the request itself
    rows.add(launch("vm_id missing", "", ok, GrpcStatus.INVALID_ARGUMENT, "vm_id is required"));
    rows.add(launch("vm_id uppercase", "VM-1", ok, GrpcStatus.INVALID_ARGUMENT, "vm_id", "lowercase"));
    rows.add(launch("vm_id with '_'", "vm_1", ok, GrpcStatus.INVALID_ARGUMENT, "vm_id", "lowercase"));
    rows.add(launch("vm_id with a leading '-'", "-vm", ok, GrpcStatus.INVALID_ARGUMENT, "vm_id", "starting with a letter or digit"));
    rows.add(launch("vm_id of 64 characters", "v".repeat(64), ok, GrpcStatus.INVALID_ARGUMENT, "vm_id", "1 to 63"));
    rows.add(launch("vm_id with a path", "../etc", ok, GrpcStatus.INVALID_ARGUMENT, "vm_id", "lowercase"));
    rows.add(launch("vm_id of 20000 characters", "v".repeat(20_000), ok, GrpcStatus.INVALID_ARGUMENT, "vm_id", "1 to 63"));
    rows.add(new BadRequest("spec missing", a -> a.call(NodeAgentServiceGrpcClient.LaunchVm,
        LaunchVmRequest.newBuilder().setVmId("vm-nospec").build()), GrpcStatus.INVALID_ARGUMENT, List.of("spec is required")));

    // name
    rows.add(bad("name empty", ok.toBuilder().setName(""), GrpcStatus.INVALID_ARGUMENT, "name is required"));
    rows.add(bad("name uppercase", ok.toBuilder().setName("Web-1"), GrpcStatus.INVALID_ARGUMENT, "name \"Web-1\" is not valid", "lowercase"));
    rows.add(bad("name of 64 characters", ok.toBuilder().setName("n".repeat(64)), GrpcStatus.INVALID_ARGUMENT, "name \"nnn", "1 to 63"));
    rows.add(bad("name with a leading '-'", ok.toBuilder().setName("-web"), GrpcStatus.INVALID_ARGUMENT, "name \"-web\" is not valid"));
    rows.add(bad("name with a trailing '-'", ok.toBuilder().setName("web-"), GrpcStatus.INVALID_ARGUMENT, "name \"web-\" is not valid"));

    // sizes
    rows.add(bad("memory 0", ok.toBuilder().setMemoryMib(0), GrpcStatus.INVALID_ARGUMENT, "memory_mib is required"));
    rows.add(bad("memory 8 MiB", ok.toBuilder().setMemoryMib(8), GrpcStatus.INVALID_ARGUMENT, "memory_mib 8 is too small"));
    rows.add(bad("memory 10^9 MiB", ok.toBuilder().setMemoryMib(1_000_000_000), GrpcStatus.INVALID_ARGUMENT, "memory_mib 1000000000", "at most 65536"));
    rows.add(bad("memory 2^32-1 MiB (unsigned)", ok.toBuilder().setMemoryMib(-1), GrpcStatus.INVALID_ARGUMENT, "memory_mib 4294967295"));
    rows.add(bad("memory beyond the node's free capacity", ok.toBuilder().setMemoryMib(8192), GrpcStatus.RESOURCE_EXHAUSTED,
        "4096 MiB of guest memory left", "asks for 8192 MiB"));
    rows.add(bad("1000 vCPUs", ok.toBuilder().setVcpus(1000), GrpcStatus.INVALID_ARGUMENT, "vcpus 1000", "at most 64"));
    rows.add(bad("machine microvm", ok.toBuilder().setMachine("microvm"), GrpcStatus.INVALID_ARGUMENT, "machine \"microvm\" is not supported"));
    rows.add(bad("restart policy unknown", ok.toBuilder().setRestartPolicyValue(99), GrpcStatus.INVALID_ARGUMENT, "restart_policy"));

    // devices
    rows.add(bad("no device", ok.toBuilder().clearDevices(), GrpcStatus.INVALID_ARGUMENT, "devices is empty"));
    VmSpec.Builder nine = ok.toBuilder().clearDevices();
    for (int i = 0; i < 9; i++) {
      nine.addDevices(Specs.device("lsi" + i, "lsi53c895a", "disk" + i, BOOT));
    }
    rows.add(bad("9 devices (the node allows 8)", nine, GrpcStatus.INVALID_ARGUMENT, "devices lists 9 devices", "at most 8"));
    rows.add(bad("device id empty", device(ok, d -> d.setId("")), GrpcStatus.INVALID_ARGUMENT, "devices[0].id is required"));
    rows.add(bad("device id uppercase", device(ok, d -> d.setId("Lsi0")), GrpcStatus.INVALID_ARGUMENT, "devices[0].id \"Lsi0\" is not valid"));
    rows.add(bad("device id starting with a digit", device(ok, d -> d.setId("0lsi")), GrpcStatus.INVALID_ARGUMENT, "devices[0].id \"0lsi\"", "starting with a letter"));
    rows.add(bad("device id of 32 characters", device(ok, d -> d.setId("d".repeat(32))), GrpcStatus.INVALID_ARGUMENT, "devices[0].id", "1 to 31"));
    rows.add(bad("duplicate device ids", ok.toBuilder().addDevices(Specs.device("lsi0", "lsi53c895a", "data", BOOT)),
        GrpcStatus.INVALID_ARGUMENT, "devices[1].id \"lsi0\" is used by an earlier device"));
    rows.add(bad("driver missing", device(ok, d -> d.setDriver("")), GrpcStatus.INVALID_ARGUMENT, "devices[0].driver is required", "lsi53c895a"));
    rows.add(bad("driver unknown (e1000)", device(ok, d -> d.setDriver("e1000")), GrpcStatus.INVALID_ARGUMENT,
        "devices[0].driver \"e1000\" is not a driver mpqemu can run", "lsi53c895a, megasas, nvme, virtio-blk-pci"));
    rows.add(bad("nvme with two disks", ok.toBuilder().clearDevices().addDevices(ProxiedDevice.newBuilder().setId("nvme0").setDriver("nvme")
        .addDisks(disk("a", BOOT)).addDisks(disk("b", BOOT))), GrpcStatus.INVALID_ARGUMENT, "devices[0].disks lists 2 disks", "exactly one"));
    rows.add(bad("virtio-blk-pci without a disk", ok.toBuilder().clearDevices().addDevices(ProxiedDevice.newBuilder().setId("vblk")
        .setDriver("virtio-blk-pci")), GrpcStatus.INVALID_ARGUMENT, "devices[0].disks lists 0 disks"));
    rows.add(bad("nvme disk with a scsi_id", ok.toBuilder().clearDevices().addDevices(ProxiedDevice.newBuilder().setId("nvme0").setDriver("nvme")
        .addDisks(disk("a", BOOT).setScsiId(0))), GrpcStatus.INVALID_ARGUMENT, "devices[0].disks[0].scsi_id is set"));

    // disks
    rows.add(bad("disk id empty", disk0(ok, k -> k.setId("")), GrpcStatus.INVALID_ARGUMENT, "devices[0].disks[0].id is required"));
    rows.add(bad("disk id with a space", disk0(ok, k -> k.setId("my disk")), GrpcStatus.INVALID_ARGUMENT, "devices[0].disks[0].id \"my disk\""));
    rows.add(bad("disk id equal to a device id", disk0(ok, k -> k.setId("lsi0")), GrpcStatus.INVALID_ARGUMENT,
        "devices[0].disks[0].id \"lsi0\" is already a device id"));
    rows.add(bad("duplicate disk ids on one device", device(ok, d -> d.addDisks(disk("boot", BOOT))), GrpcStatus.INVALID_ARGUMENT,
        "devices[0].disks[1].id \"boot\" is already used by devices[0].disks[0]"));
    rows.add(bad("duplicate disk ids across devices", ok.toBuilder().addDevices(Specs.device("lsi1", "lsi53c895a", "boot", BOOT)),
        GrpcStatus.INVALID_ARGUMENT, "devices[1].disks[0].id \"boot\" is already used by devices[0].disks[0]"));
    rows.add(bad("scsi_id 7 on lsi53c895a", disk0(ok, k -> k.setScsiId(7)), GrpcStatus.INVALID_ARGUMENT,
        "devices[0].disks[0].scsi_id 7 is out of range", "0 to 6"));
    rows.add(bad("scsi_id 2^32-1 on lsi53c895a", disk0(ok, k -> k.setScsiId(-1)), GrpcStatus.INVALID_ARGUMENT,
        "devices[0].disks[0].scsi_id 4294967295 is out of range"));
    rows.add(bad("scsi_id 64 on megasas", ok.toBuilder().clearDevices().addDevices(ProxiedDevice.newBuilder().setId("sas0").setDriver("megasas")
        .addDisks(disk("a", BOOT).setScsiId(64))), GrpcStatus.INVALID_ARGUMENT, "devices[0].disks[0].scsi_id 64 is out of range", "0 to 63"));
    rows.add(bad("eight disks on lsi53c895a (the eighth takes id 7)", device(ok, d -> {
      for (int i = 1; i < 8; i++) {
        d.addDisks(disk("d" + i, BOOT));
      }
    }), GrpcStatus.INVALID_ARGUMENT, "devices[0].disks[7].scsi_id 7 (taken from its position) is out of range"));
    rows.add(bad("two disks on one scsi_id", device(ok, d -> d.addDisks(disk("data", BOOT).setScsiId(0))), GrpcStatus.INVALID_ARGUMENT,
        "devices[0].disks[1].scsi_id 0 is already used by devices[0].disks[0]"));
    rows.add(bad("format vmdk", disk0(ok, k -> k.setFormat("vmdk")), GrpcStatus.INVALID_ARGUMENT,
        "devices[0].disks[0].format \"vmdk\" is not supported"));

    // images
    rows.add(bad("image empty", disk0(ok, k -> k.setImage("")), GrpcStatus.INVALID_ARGUMENT, image + " is required"));
    rows.add(bad("image ../ out of the root", disk0(ok, k -> k.setImage("../outside/secret.img")), GrpcStatus.INVALID_ARGUMENT,
        image + " \"../outside/secret.img\" has an empty, '.' or '..' path segment"));
    rows.add(bad("image a/../../ out of the root", disk0(ok, k -> k.setImage("a/../../outside/secret.img")), GrpcStatus.INVALID_ARGUMENT,
        image, "'..' path segment"));
    rows.add(bad("image absolute", disk0(ok, k -> k.setImage("/etc/passwd")), GrpcStatus.INVALID_ARGUMENT,
        image + " \"/etc/passwd\" is absolute"));
    rows.add(bad("image starting with '-'", disk0(ok, k -> k.setImage("-boot.img")), GrpcStatus.INVALID_ARGUMENT, image, "starts with '-'"));
    rows.add(bad("image of 256 characters", disk0(ok, k -> k.setImage("i".repeat(256))), GrpcStatus.INVALID_ARGUMENT,
        image + " is 256 characters long"));
    rows.add(bad("image that does not exist", disk0(ok, k -> k.setImage("missing.img")), GrpcStatus.FAILED_PRECONDITION,
        image + ": image 'missing.img' does not exist"));
    rows.add(bad("image that is a directory", disk0(ok, k -> k.setImage("a-directory.img")), GrpcStatus.FAILED_PRECONDITION,
        image + ": image 'a-directory.img' is not a regular file"));
    rows.add(bad("image that is a symlink out of the root", disk0(ok, k -> k.setImage("escape.img")), GrpcStatus.PERMISSION_DENIED,
        image + ": image 'escape.img' is refused: 'escape.img' is a symbolic link"));
    rows.add(bad("image under a symlinked directory out of the root", disk0(ok, k -> k.setImage("escape-dir/secret.img")),
        GrpcStatus.PERMISSION_DENIED, image + ": image 'escape-dir/secret.img' is refused: 'escape-dir' is a symbolic link"));
    rows.add(bad("image that is a dangling symlink", disk0(ok, k -> k.setImage("dangling.img")), GrpcStatus.PERMISSION_DENIED,
        image + ": image 'dangling.img' is refused: 'dangling.img' is a symbolic link"));
    rows.add(bad("second disk's image missing, first one fine", ok.toBuilder().addDevices(Specs.device("lsi1", "lsi53c895a", "data", "nope.img")),
        GrpcStatus.FAILED_PRECONDITION, "devices[1].disks[0].image: image 'nope.img' does not exist"));

    // labels
    rows.add(bad("label key uppercase", ok.toBuilder().putLabels("Team", "a"), GrpcStatus.INVALID_ARGUMENT, "labels has a key \"Team\""));
    rows.add(bad("label value of 64 characters", ok.toBuilder().putLabels("team", "v".repeat(64)), GrpcStatus.INVALID_ARGUMENT,
        "labels[\"team\"]", "at most 63"));
    rows.add(bad("node_selector value with a space", ok.toBuilder().putNodeSelector("zone", "a b"), GrpcStatus.INVALID_ARGUMENT,
        "node_selector[\"zone\"] \"a b\" is not valid"));

    // injection attempts: every string that reaches QEMU or a file name
    for (String evil : INJECTIONS) {
      String shown = evil.replace("\n", "\\n");
      rows.add(bad("name " + shown, ok.toBuilder().setName(evil), GrpcStatus.INVALID_ARGUMENT, "name \""));
      rows.add(bad("device id " + shown, device(ok, d -> d.setId(evil)), GrpcStatus.INVALID_ARGUMENT, "devices[0].id \""));
      rows.add(bad("driver " + shown, device(ok, d -> d.setDriver(evil)), GrpcStatus.INVALID_ARGUMENT, "devices[0].driver \""));
      rows.add(bad("driver lsi53c895a" + shown, device(ok, d -> d.setDriver("lsi53c895a" + evil)), GrpcStatus.INVALID_ARGUMENT,
          "devices[0].driver \"lsi53c895a"));
      rows.add(bad("disk id " + shown, disk0(ok, k -> k.setId(evil)), GrpcStatus.INVALID_ARGUMENT, "devices[0].disks[0].id \""));
      rows.add(bad("image " + shown, disk0(ok, k -> k.setImage(evil)), GrpcStatus.INVALID_ARGUMENT, image + " \"", "may only contain"));
      rows.add(bad("image boot.img" + shown, disk0(ok, k -> k.setImage(BOOT + evil)), GrpcStatus.INVALID_ARGUMENT, image, "may only contain"));
      rows.add(bad("format " + shown, disk0(ok, k -> k.setFormat(evil)), GrpcStatus.INVALID_ARGUMENT, "devices[0].disks[0].format \""));
      rows.add(bad("format raw" + shown, disk0(ok, k -> k.setFormat("raw" + evil)), GrpcStatus.INVALID_ARGUMENT, "devices[0].disks[0].format \"raw"));
      rows.add(bad("machine " + shown, ok.toBuilder().setMachine(evil), GrpcStatus.INVALID_ARGUMENT, "machine \""));
      rows.add(bad("machine pc" + shown, ok.toBuilder().setMachine("pc" + evil), GrpcStatus.INVALID_ARGUMENT, "machine \"pc"));
      rows.add(bad("label key " + shown, ok.toBuilder().putLabels(evil, "v"), GrpcStatus.INVALID_ARGUMENT, "labels has a key \""));
      rows.add(bad("label value " + shown, ok.toBuilder().putLabels("k", evil), GrpcStatus.INVALID_ARGUMENT, "labels[\"k\"] \""));
      rows.add(bad("node_selector value " + shown, ok.toBuilder().putNodeSelector("k", evil), GrpcStatus.INVALID_ARGUMENT,
          "node_selector[\"k\"] \""));
      rows.add(launch("vm_id " + shown, evil, ok, GrpcStatus.INVALID_ARGUMENT, "vm_id"));
    }

    // NICs
    rows.add(bad("NIC of an unknown model", ok.toBuilder().addNics(io.mpqemu.v1.Nic.newBuilder().setId("net0")
        .setModel("rtl8139")), GrpcStatus.INVALID_ARGUMENT, "nics[0].model \"rtl8139\" cannot run in a device process"));
    rows.add(bad("NIC on a network the node lacks", ok.toBuilder().addNics(io.mpqemu.v1.Nic.newBuilder().setId("net0")
        .setNetwork("lan")), GrpcStatus.FAILED_PRECONDITION, "nics[0].network 'lan' is not a network of this node",
        "it defines default"));
    rows.add(bad("NIC with a multicast MAC", ok.toBuilder().addNics(io.mpqemu.v1.Nic.newBuilder().setId("net0")
        .setMac("01:00:5e:00:00:01")), GrpcStatus.INVALID_ARGUMENT, "nics[0].mac 01:00:5e:00:00:01 is a multicast address"));
    rows.add(bad("two NICs with one MAC", ok.toBuilder().addNics(io.mpqemu.v1.Nic.newBuilder().setId("a")
        .setMac("52:54:00:00:00:01")).addNics(io.mpqemu.v1.Nic.newBuilder().setId("b").setMac("52:54:00:00:00:01")),
        GrpcStatus.INVALID_ARGUMENT, "nics[1].mac 52:54:00:00:00:01 is an earlier NIC's"));
    VmSpec.Builder fiveNics = ok.toBuilder();
    for (int i = 0; i < 5; i++) {
      fiveNics.addNics(io.mpqemu.v1.Nic.newBuilder().setId("net" + i).setPlacement(io.mpqemu.v1.NicPlacement.MAIN));
    }
    rows.add(bad("five NICs", fiveNics, GrpcStatus.INVALID_ARGUMENT, "nics lists 5 NICs: this node allows at most 4"));
    rows.add(bad("a forward from an address the network does not allow", ok.toBuilder().addNics(io.mpqemu.v1.Nic
        .newBuilder().setId("net0").addPortForwards(io.mpqemu.v1.PortForward.newBuilder().setHostAddress("0.0.0.0")
            .setHostPort(18080).setGuestPort(80))), GrpcStatus.FAILED_PRECONDITION,
        "nics[0].port_forwards[0].host_address 0.0.0.0 is not one network 'default' forwards from (it allows 127.0.0.1)"));

    // the other calls
    rows.add(new BadRequest("StopVm of an unknown id", a -> a.stop("vm-nope", 1, false), GrpcStatus.NOT_FOUND,
        List.of("VM vm-nope does not exist on this node")));
    rows.add(new BadRequest("GetVm of an unknown id", a -> a.get("vm-nope"), GrpcStatus.NOT_FOUND,
        List.of("VM vm-nope does not exist on this node")));
    rows.add(new BadRequest("DeleteVm of an unknown id", a -> a.delete("vm-nope", true), GrpcStatus.NOT_FOUND,
        List.of("VM vm-nope does not exist on this node")));
    rows.add(new BadRequest("GetConsoleLog of an unknown id", a -> a.console("vm-nope"), GrpcStatus.NOT_FOUND,
        List.of("VM vm-nope does not exist on this node")));
    rows.add(new BadRequest("GetVm with a bad id", a -> a.call(NodeAgentServiceGrpcClient.GetVm,
        AgentGetVmRequest.newBuilder().setVmId("../x").build()), GrpcStatus.INVALID_ARGUMENT, List.of("vm_id")));
    rows.add(new BadRequest("DeleteVm without an id", a -> a.call(NodeAgentServiceGrpcClient.DeleteVm,
        AgentDeleteVmRequest.getDefaultInstance()), GrpcStatus.INVALID_ARGUMENT, List.of("vm_id is required")));
    rows.add(new BadRequest("StopVm with timeout_seconds 100000", a -> a.call(NodeAgentServiceGrpcClient.StopVm,
        AgentStopVmRequest.newBuilder().setVmId("vm-nope").setTimeoutSeconds(100_000).build()), GrpcStatus.INVALID_ARGUMENT,
        List.of("timeout_seconds must be at most 3600, was 100000")));
    rows.add(new BadRequest("StopVm with timeout_seconds 2^32-1 (unsigned)", a -> a.call(NodeAgentServiceGrpcClient.StopVm,
        AgentStopVmRequest.newBuilder().setVmId("vm-nope").setTimeoutSeconds(-1).build()), GrpcStatus.INVALID_ARGUMENT,
        List.of("timeout_seconds must be at most 3600, was 4294967295")));
    rows.add(new BadRequest("GetConsoleLog with max_bytes 2 MiB", a -> a.call(NodeAgentServiceGrpcClient.GetConsoleLog,
        AgentConsoleLogRequest.newBuilder().setVmId("vm-nope").setMaxBytes(2 * 1024 * 1024).build()), GrpcStatus.INVALID_ARGUMENT,
        List.of("max_bytes must be at most 1048576, was 2097152")));
    rows.add(new BadRequest("GetConsoleLog with max_bytes 2^32-1 (unsigned)", a -> a.call(NodeAgentServiceGrpcClient.GetConsoleLog,
        AgentConsoleLogRequest.newBuilder().setVmId("vm-nope").setMaxBytes(-1).build()), GrpcStatus.INVALID_ARGUMENT,
        List.of("max_bytes must be at most 1048576, was 4294967295")));
    return rows.stream();
  }

  // ------------------------------------------------------------------ rows that need a VM or another config

  @Test
  @DisplayName("a forward from a host port in use is FAILED_PRECONDITION; so is a MAC another VM of the node has;"
      + " neither starts anything")
  void nicConflicts() throws Exception {
    try (java.net.ServerSocket taken = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      int port = taken.getLocalPort();
      assertRefused(agent, bad("a forward from a port in use", Specs.lsi("busy", BOOT).toBuilder()
          .addNics(io.mpqemu.v1.Nic.newBuilder().setId("net0").addPortForwards(io.mpqemu.v1.PortForward.newBuilder()
              .setHostPort(port).setGuestPort(80))), GrpcStatus.FAILED_PRECONDITION,
          "nics[0].port_forwards[0]: host port tcp 127.0.0.1:" + port + " is in use on this node"));
    }
    io.mpqemu.v1.Nic mac = io.mpqemu.v1.Nic.newBuilder().setId("net0").setMac("52:54:00:aa:bb:cc").build();
    AgentVm first = agent.launch("vm-mac", Specs.lsi("mac", BOOT).toBuilder().addNics(mac).build());
    List<Long> firstPids = first.getProcessesList().stream().map(ProcessStatus::getPid).toList();
    assertThat(first.getProcessesList()).extracting(ProcessStatus::getName).contains("net0");
    assertThat(agent.get("vm-mac").getNicsList()).singleElement().satisfies(n -> {
      assertThat(n.getMac()).isEqualTo("52:54:00:aa:bb:cc");
      assertThat(n.getModel()).isEqualTo("e1000e");
    });
    assertThatThrownBy(() -> agent.launch("vm-mac-2", Specs.lsi("mac-2", BOOT).toBuilder()
        .addNics(mac.toBuilder().setId("eth0")).build()))
        .isInstanceOfSatisfying(GrpcCallException.class, e -> {
          assertThat(e.status()).isEqualTo(GrpcStatus.FAILED_PRECONDITION);
          assertThat(e.serverMessage()).contains("nics[0] would have MAC 52:54:00:aa:bb:cc, which NIC net0 of VM vm-mac"
              + " on this node has");
        });
    assertThat(agent.qemuPids()).containsExactlyInAnyOrderElementsOf(firstPids);
    agent.delete("vm-mac", true);
    assertNothingLeft(agent);
  }

  @Test
  @DisplayName("a second VM with another id but the same name is ALREADY_EXISTS, and starts nothing")
  void sameNameIsAlreadyExists() throws Exception {
    AgentVm first = agent.launch("vm-taken", Specs.lsi("taken", BOOT));
    List<Long> firstPids = first.getProcessesList().stream().map(ProcessStatus::getPid).toList();

    assertThatThrownBy(() -> agent.launch("vm-other", Specs.lsi("taken", BOOT).toBuilder().setMemoryMib(32).build()))
        .isInstanceOfSatisfying(GrpcCallException.class, e -> {
          assertThat(e.status()).isEqualTo(GrpcStatus.ALREADY_EXISTS);
          assertThat(e.serverMessage()).contains("a VM named 'taken' already exists on this node (id vm-taken)");
        });

    assertThat(agent.qemuPids()).containsExactlyInAnyOrderElementsOf(firstPids);
    assertThat(vmDirs(agent)).containsExactly("vm-taken");
    agent.delete("vm-taken", true);
    assertNothingLeft(agent);
  }

  @Test
  @DisplayName("a driver the validator knows but the node's allow-list lacks is INVALID_ARGUMENT, naming the drivers allowed")
  void driverNotOnAllowList() throws Exception {
    try (AgentHarness lsiOnly = new AgentHarness().startInProcess(withLimits(
        new NodeLimits(Set.of("lsi53c895a"), 65536, 64, 8, 8)))) {
      lsiOnly.bootImage(BOOT, "never booted", false);
      for (String driver : List.of("nvme", "megasas", "virtio-blk-pci")) {
        VmSpec spec = Specs.lsi("lsi-only", BOOT).toBuilder().clearDevices()
            .addDevices(Specs.device("dev0", driver, "boot", BOOT)).build();
        assertRefused(lsiOnly, launch(driver + " on an lsi-only node", "vm-lsi-only", spec, GrpcStatus.INVALID_ARGUMENT,
            "devices[0].driver \"" + driver + "\" is not allowed on this node: use one of lsi53c895a."));
      }
    }
  }

  @Test
  @DisplayName("a VM that would exceed the node's free memory is RESOURCE_EXHAUSTED while another VM holds it")
  void memoryCapacityExhausted() throws Exception {
    try (AgentHarness small = new AgentHarness().startInProcess(withMemoryMib(100))) {
      small.bootImage(BOOT, "holding memory", false);
      AgentVm holder = small.launch("vm-holder", Specs.lsi("holder", BOOT));
      List<Long> holderPids = holder.getProcessesList().stream().map(ProcessStatus::getPid).toList();

      assertThatThrownBy(() -> small.launch("vm-second", Specs.lsi("second", BOOT)))
          .isInstanceOfSatisfying(GrpcCallException.class, e -> {
            assertThat(e.status()).isEqualTo(GrpcStatus.RESOURCE_EXHAUSTED);
            assertThat(e.serverMessage()).contains("this node has 36 MiB of guest memory left, the VM asks for 64 MiB");
          });

      assertThat(small.qemuPids()).containsExactlyInAnyOrderElementsOf(holderPids);
      assertThat(vmDirs(small)).containsExactly("vm-holder");
      small.stop("vm-holder", 0, true);
      AgentVm fits = small.launch("vm-second", Specs.lsi("second", BOOT));
      assertThat(fits.getProcessesCount()).as("the memory of a stopped VM is free again").isEqualTo(2);
      small.delete("vm-second", true);
      small.delete("vm-holder", false);
      assertNothingLeft(small);
    }
  }

  // ------------------------------------------------------------------ helpers

  private static void assertRefused(AgentHarness agent, BadRequest row) throws Exception {
    assertThatThrownBy(() -> row.call().accept(agent)).isInstanceOfSatisfying(GrpcCallException.class, e -> {
      assertThat(e.status()).as("status of: %s", e.getMessage()).isEqualTo(row.status());
      assertThat(e.serverMessage()).contains(row.mustSay());
      assertThat(e.serverMessage()).as("a message for a human: one line of printable text, of reasonable length")
          .hasSizeLessThan(600).doesNotContainPattern("\\p{Cntrl}");
    });
    assertNothingLeft(agent);
  }

  private static void assertNothingLeft(AgentHarness agent) throws Exception {
    assertThat(agent.qemuPids()).as("QEMU processes").isEmpty();
    assertThat(vmDirs(agent)).as("entries in " + agent.stateDir.resolve("vms")).isEmpty();
    assertThat(agent.list()).as("VMs the agent knows").isEmpty();
  }

  private static List<String> vmDirs(AgentHarness agent) throws Exception {
    Path vms = agent.stateDir.resolve("vms");
    if (!Files.exists(vms)) {
      return List.of();
    }
    try (Stream<Path> entries = Files.list(vms)) {
      return entries.map(p -> p.getFileName().toString()).sorted().toList();
    }
  }

  private static BadRequest launch(String name, String vmId, VmSpec spec, GrpcStatus status, String... mustSay) {
    return new BadRequest(name, a -> a.launch(vmId, spec), status, List.of(mustSay));
  }

  private static BadRequest bad(String name, VmSpec.Builder spec, GrpcStatus status, String... mustSay) {
    return launch(name, "vm-bad", spec.build(), status, mustSay);
  }

  private static VmSpec.Builder device(VmSpec ok, Consumer<ProxiedDevice.Builder> change) {
    VmSpec.Builder b = ok.toBuilder();
    change.accept(b.getDevicesBuilder(0));
    return b;
  }

  private static VmSpec.Builder disk0(VmSpec ok, Consumer<Disk.Builder> change) {
    return device(ok, d -> change.accept(d.getDisksBuilder(0)));
  }

  private static Disk.Builder disk(String id, String image) {
    return Disk.newBuilder().setId(id).setImage(image);
  }

  private static UnaryOperator<AgentConfig> withLimits(NodeLimits limits) {
    return c -> new AgentConfig(c.nodeId(), c.listen(), c.stateDir(), c.imageRoot(), c.qemuBinary(), c.accelerator(), limits,
        c.memoryMib(), c.maxVms(), c.labels(), c.stopTimeout(), c.exitDeadline(), c.consoleLogMaxBytes())
        .withConfinement(c.confinement());
  }

  private static UnaryOperator<AgentConfig> withMemoryMib(long memoryMib) {
    return c -> new AgentConfig(c.nodeId(), c.listen(), c.stateDir(), c.imageRoot(), c.qemuBinary(), c.accelerator(), c.limits(),
        memoryMib, c.maxVms(), c.labels(), c.stopTimeout(), c.exitDeadline(), c.consoleLogMaxBytes());
  }
}
