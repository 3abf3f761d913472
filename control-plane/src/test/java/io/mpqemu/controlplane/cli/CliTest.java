package io.mpqemu.controlplane.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.ByteString;
import com.google.protobuf.Timestamp;
import com.google.protobuf.util.JsonFormat;
import io.mpqemu.v1.Capacity;
import io.mpqemu.v1.CreateVmRequest;
import io.mpqemu.v1.DesiredState;
import io.mpqemu.v1.EventType;
import io.mpqemu.v1.GetConsoleLogRequest;
import io.mpqemu.v1.GetConsoleLogResponse;
import io.mpqemu.v1.GetVmRequest;
import io.mpqemu.v1.ListNodesResponse;
import io.mpqemu.v1.ListVmsRequest;
import io.mpqemu.v1.ListVmsResponse;
import io.mpqemu.v1.Node;
import io.mpqemu.v1.NodeInfo;
import io.mpqemu.v1.NodeState;
import io.mpqemu.v1.Phase;
import io.mpqemu.v1.ProcessRole;
import io.mpqemu.v1.ProcessState;
import io.mpqemu.v1.ProcessStatus;
import io.mpqemu.v1.StartVmRequest;
import io.mpqemu.v1.StopVmRequest;
import io.mpqemu.v1.UpdateVmRequest;
import io.mpqemu.v1.RestartPolicy;
import io.mpqemu.v1.DeleteVmRequest;
import io.mpqemu.v1.Vm;
import io.mpqemu.v1.VmEvent;
import io.mpqemu.v1.VmRef;
import io.mpqemu.v1.VmSpec;
import io.mpqemu.v1.VmStatus;
import io.mpqemu.v1.WatchEventsRequest;
import io.vertx.core.Future;
import io.vertx.grpc.common.GrpcStatus;
import io.vertx.grpc.server.StatusException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine.Command;
import picocli.CommandLine;

class CliTest {

  private static final String WEB_ID = "6f1c2a34-9b8d-4e7f-a1b2-c3d4e5f60718";
  private static final Vm WEB = Vm.newBuilder().setId(WEB_ID)
      .setSpec(VmSpec.newBuilder().setName("web").setMemoryMib(512))
      .setDesiredState(DesiredState.RUNNING)
      .setStatus(VmStatus.newBuilder().setPhase(Phase.PHASE_RUNNING).setNode("node-1"))
      .build();
  private static final Vm DB = Vm.newBuilder().setId("a0b1c2d3-e4f5-4a6b-8c7d-9e0f1a2b3c4d")
      .setSpec(VmSpec.newBuilder().setName("database").setMemoryMib(2048))
      .setDesiredState(DesiredState.RUNNING)
      .setStatus(VmStatus.newBuilder().setPhase(Phase.PHASE_PENDING).setReason("Unschedulable"))
      .build();

  @TempDir
  Path dir;

  private final FakeVmService fake = new FakeVmService();
  private String server;
  private final StringWriter out = new StringWriter();
  private final StringWriter err = new StringWriter();

  @BeforeEach
  void startServer() {
    server = "tcp:127.0.0.1:" + fake.start();
  }

  @AfterEach
  void stopServer() {
    fake.stop();
  }

  private int run(String... args) {
    CommandLine cli = ControlPlaneCli.commandLine();
    return execute(cli, args);
  }

  private int execute(CommandLine cli, String... args) {
    cli.setOut(new PrintWriter(out, true));
    cli.setErr(new PrintWriter(err, true));
    List<String> all = new ArrayList<>(List.of(args));
    all.add(0, "--server=" + server);
    return cli.execute(all.toArray(String[]::new));
  }

  private List<String> lines() {
    return out.toString().lines().toList();
  }

  private static Vm parseVm(String json) throws Exception {
    Vm.Builder vm = Vm.newBuilder();
    JsonFormat.parser().merge(json, vm);
    return vm.build();
  }

  @Test
  @DisplayName("vm list prints an aligned table with NAME, ID, PHASE, NODE, DESIRED, REASON")
  void listTable() {
    fake.pages.put("", ListVmsResponse.newBuilder().addVms(WEB).addVms(DB).build());

    assertThat(run("vm", "list")).isZero();

    assertThat(lines()).containsExactly(
        "NAME      ID                                    PHASE    NODE    DESIRED  REASON",
        "web       6f1c2a34-9b8d-4e7f-a1b2-c3d4e5f60718  RUNNING  node-1  RUNNING  -",
        "database  a0b1c2d3-e4f5-4a6b-8c7d-9e0f1a2b3c4d  PENDING  -       RUNNING  Unschedulable");
    assertThat(err.toString()).isEmpty();
  }

  @Test
  @DisplayName("vm list --output json prints one protobuf JSON object a line")
  void listJson() throws Exception {
    fake.pages.put("", ListVmsResponse.newBuilder().addVms(WEB).addVms(DB).build());

    assertThat(run("vm", "list", "--output", "json")).isZero();

    assertThat(lines()).hasSize(2);
    assertThat(parseVm(lines().get(0))).isEqualTo(WEB);
    assertThat(parseVm(lines().get(1))).isEqualTo(DB);
  }

  @Test
  @DisplayName("vm list follows next_page_token to the last page and passes the filters on every page")
  void listFollowsPages() {
    fake.pages.put("", ListVmsResponse.newBuilder().addVms(WEB).setNextPageToken("p2").build());
    fake.pages.put("p2", ListVmsResponse.newBuilder().setNextPageToken("p3").build());
    fake.pages.put("p3", ListVmsResponse.newBuilder().addVms(DB).build());

    assertThat(run("vm", "list", "--phase", "running", "--node", "node-1", "-l", "app=web", "-l", "tier=front",
        "-o", "json")).isZero();

    List<ListVmsRequest> requests = fake.requests(ListVmsRequest.class);
    assertThat(requests).extracting(ListVmsRequest::getPageToken).containsExactly("", "p2", "p3");
    assertThat(requests).allSatisfy(r -> {
      assertThat(r.getPhase()).isEqualTo(Phase.PHASE_RUNNING);
      assertThat(r.getNode()).isEqualTo("node-1");
      assertThat(r.getLabelSelector()).isEqualTo("app=web,tier=front");
    });
    assertThat(lines()).hasSize(2);
  }

  @Test
  @DisplayName("vm get shows the VM's fields in a table, or its JSON with --output json")
  void getTableAndJson() throws Exception {
    fake.getVm = r -> Future.succeededFuture(WEB);

    assertThat(run("vm", "get", "web")).isZero();
    assertThat(out.toString()).contains("NAME      web", "ID        " + WEB_ID, "PHASE     RUNNING", "NODE      node-1");

    out.getBuffer().setLength(0);
    assertThat(run("--output=json", "vm", "get", "web")).isZero();
    assertThat(parseVm(out.toString())).isEqualTo(WEB);
  }

  @Test
  @DisplayName("vm get lists the processes with their CPU seconds and resident memory; an exited one shows none")
  void getShowsProcessFigures() {
    fake.getVm = r -> Future.succeededFuture(WEB.toBuilder().setStatus(WEB.getStatus().toBuilder()
        .addProcesses(ProcessStatus.newBuilder().setName("lsi0").setRole(ProcessRole.PROCESS_ROLE_DEVICE).setPid(4242)
            .setState(ProcessState.PROCESS_STATE_EXITED).setExitStatus(0))
        .addProcesses(ProcessStatus.newBuilder().setName("main").setRole(ProcessRole.PROCESS_ROLE_MAIN).setPid(4243)
            .setState(ProcessState.PROCESS_STATE_RUNNING).setCpuSeconds(12.344).setRssBytes(192_500_000L))).build());

    assertThat(run("vm", "get", "web")).isZero();

    assertThat(lines()).containsSequence(
        "PROCESS  ROLE    PID   STATE    CPU     RSS       EXIT  STARTED",
        "lsi0     DEVICE  4242  EXITED   -       -         0     -",
        "main     MAIN    4243  RUNNING  12.34s  183.6MiB  -     -");
  }

  @Test
  @DisplayName("vm get lists the NICs: model, MAC, network, placement, a bridge NIC's addresses, a user-mode NIC's forwards")
  void getShowsNics() {
    fake.getVm = r -> Future.succeededFuture(WEB.toBuilder().setStatus(WEB.getStatus().toBuilder()
        .addNics(io.mpqemu.v1.NicStatus.newBuilder().setId("net0").setModel("e1000e").setMac("02:aa:bb:cc:dd:ee")
            .setNetwork("default").setPlacement(io.mpqemu.v1.NicPlacement.DEVICE_PROCESS)
            .addForwards("tcp 127.0.0.1:8080 -> 80").addForwards("udp 127.0.0.1:5353 -> 53"))
        .addNics(io.mpqemu.v1.NicStatus.newBuilder().setId("net1").setModel("virtio-net-pci").setMac("52:54:00:12:34:56")
            .setNetwork("lan").setPlacement(io.mpqemu.v1.NicPlacement.MAIN).addAddresses("10.77.0.11"))).build());

    assertThat(run("vm", "get", "web")).isZero();

    String row = "%-6s%-16s%-19s%-9s%-16s%-12s%s";
    assertThat(lines()).containsSequence(
        String.format(row, "NIC", "MODEL", "MAC", "NETWORK", "PLACEMENT", "ADDRESSES", "FORWARDS"),
        String.format(row, "net0", "e1000e", "02:aa:bb:cc:dd:ee", "default", "DEVICE_PROCESS", "-",
            "tcp 127.0.0.1:8080 -> 80, udp 127.0.0.1:5353 -> 53"),
        String.format(row, "net1", "virtio-net-pci", "52:54:00:12:34:56", "lan", "MAIN", "10.77.0.11", "-"));
  }

  @Test
  @DisplayName("an argument shaped like a VM id names the VM by id, anything else by name")
  void idOrName() {
    fake.getVm = r -> Future.succeededFuture(WEB);

    run("vm", "get", WEB_ID);
    run("vm", "get", "web");
    run("vm", "get", WEB_ID.toUpperCase());
    run("vm", "get", WEB_ID.substring(1));

    assertThat(fake.requests(GetVmRequest.class)).extracting(GetVmRequest::getVm).containsExactly(
        VmRef.newBuilder().setId(WEB_ID).build(),
        VmRef.newBuilder().setName("web").build(),
        VmRef.newBuilder().setName(WEB_ID.toUpperCase()).build(),
        VmRef.newBuilder().setName(WEB_ID.substring(1)).build());
  }

  @Test
  @DisplayName("vm update sends only the fields its options name, each replaced whole, with the expected revision")
  void updateSendsTheMask() {
    fake.startStop = r -> Future.succeededFuture(WEB);

    assertThat(run("vm", "update", "web", "--label", "tier=db", "--label", "team=a", "--restart-policy", "on-failure",
        "--expected-revision", "3")).isZero();
    assertThat(run("vm", "update", "web", "--clear-node-selector")).isZero();

    List<UpdateVmRequest> sent = fake.requests(UpdateVmRequest.class);
    assertThat(sent.get(0).getUpdateMask().getPathsList()).containsExactly("labels", "restart_policy");
    assertThat(sent.get(0).getSpec().getLabelsMap()).containsExactly(Map.entry("tier", "db"), Map.entry("team", "a"));
    assertThat(sent.get(0).getSpec().getRestartPolicy()).isEqualTo(RestartPolicy.ON_FAILURE);
    assertThat(sent.get(0).getExpectedRevision()).isEqualTo(3);
    assertThat(sent.get(1).getUpdateMask().getPathsList()).containsExactly("node_selector");
    assertThat(sent.get(1).getSpec().getNodeSelectorMap()).isEmpty();
    assertThat(sent.get(1).getExpectedRevision()).isZero();
  }

  @Test
  @DisplayName("vm update without a change, or with a label and --clear-labels, is a usage error that sends nothing")
  void updateUsageErrors() {
    assertThat(run("vm", "update", "web")).isEqualTo(ExitCodes.USAGE);
    assertThat(err.toString()).contains("say what to change");
    assertThat(run("vm", "update", "web", "--label", "a=b", "--clear-labels")).isEqualTo(ExitCodes.USAGE);
    assertThat(run("vm", "update", "web", "--restart-policy", "sometimes")).isEqualTo(ExitCodes.USAGE);
    assertThat(err.toString()).contains("--restart-policy must be never, on-failure or always, not sometimes");
    assertThat(fake.requests(UpdateVmRequest.class)).isEmpty();
  }

  @Test
  @DisplayName("vm start, stop and delete pass --expected-revision on")
  void expectedRevisionIsPassedOn() {
    fake.startStop = r -> Future.succeededFuture(WEB);
    run("vm", "start", "web", "--expected-revision", "4");
    run("vm", "stop", "web", "--expected-revision", "5");
    run("vm", "delete", "web", "--expected-revision", "6");
    assertThat(fake.only(StartVmRequest.class).getExpectedRevision()).isEqualTo(4);
    assertThat(fake.only(StopVmRequest.class).getExpectedRevision()).isEqualTo(5);
    assertThat(fake.only(DeleteVmRequest.class).getExpectedRevision()).isEqualTo(6);
  }

  @Test
  @DisplayName("a refusal exits 1 and prints the status and the server's own message")
  void refusedExitsOne() {
    fake.startStop = r -> Future.failedFuture(
        new StatusException(GrpcStatus.FAILED_PRECONDITION, "web is being deleted"));

    assertThat(run("vm", "start", "web")).isEqualTo(1);

    assertThat(err.toString()).isEqualTo("error: FAILED_PRECONDITION: web is being deleted" + System.lineSeparator());
    assertThat(out.toString()).isEmpty();
  }

  @Test
  @DisplayName("NOT_FOUND exits 4, so scripts can test whether a VM exists")
  void notFoundExitsFour() {
    fake.getVm = r -> Future.failedFuture(new StatusException(GrpcStatus.NOT_FOUND, "no VM named ghost"));

    assertThat(run("vm", "get", "ghost")).isEqualTo(4);

    assertThat(err.toString()).contains("error: NOT_FOUND: no VM named ghost");
  }

  @Test
  @DisplayName("an unreachable control plane exits 3 and says where it looked and what to do")
  void unreachableExitsThree() {
    Path socket = dir.resolve("nowhere/cp.sock");
    server = "unix:" + socket;

    assertThat(run("vm", "list")).isEqualTo(3);

    assertThat(err.toString())
        .startsWith("error: cannot reach the control plane at unix:" + socket + " (")
        .contains("); is `control-plane serve` running? Set --server to its address.");
  }

  @Test
  @DisplayName("a closed TCP port is unreachable too")
  void closedPortExitsThree() {
    fake.stop();
    FakeVmService other = new FakeVmService();
    int port = other.start();
    other.stop();
    server = "tcp:127.0.0.1:" + port;

    assertThat(run("node", "list")).isEqualTo(3);
    assertThat(err.toString()).contains("cannot reach the control plane at tcp:127.0.0.1:" + port);
    fake.start();
  }

  @Test
  @DisplayName("a missing spec file is a usage error, exit 2, that names the file")
  void missingSpecFileExitsTwo() {
    Path missing = dir.resolve("missing.json");

    assertThat(run("vm", "create", "-f", missing.toString())).isEqualTo(2);

    assertThat(err.toString()).contains("cannot read spec file " + missing + ": no such file");
    assertThat(fake.requests(CreateVmRequest.class)).isEmpty();
  }

  @Test
  @DisplayName("a spec file that is not JSON, or has unknown fields, is a usage error that says what is wrong")
  void invalidSpecFileExitsTwo() throws Exception {
    Path broken = Files.writeString(dir.resolve("broken.json"), "{\"name\": \"web\",");
    Path unknown = Files.writeString(dir.resolve("unknown.json"), "{\"name\": \"web\", \"memory\": 512}");

    assertThat(run("vm", "create", "-f", broken.toString())).isEqualTo(2);
    assertThat(err.toString()).contains(broken + " is not a JSON object");

    assertThat(run("vm", "create", "-f", unknown.toString())).isEqualTo(2);
    assertThat(err.toString()).contains(unknown + " is not a VmSpec").contains("memory");
    assertThat(fake.requests(CreateVmRequest.class)).isEmpty();
  }

  @Test
  @DisplayName("bad flags exit 2: an unknown option, a bad --phase, a bad label, a bad --server")
  void badFlagsExitTwo() {
    assertThat(run("vm", "list", "--colour")).isEqualTo(2);
    assertThat(err.toString()).contains("Unknown option: '--colour'");

    assertThat(run("vm", "list", "--phase", "sleeping")).isEqualTo(2);
    assertThat(err.toString()).contains("--phase sleeping is not a phase; use one of PENDING, SCHEDULED");

    assertThat(run("vm", "list", "-l", "novalue")).isEqualTo(2);
    assertThat(err.toString()).contains("-l novalue must be key=value");

    assertThat(run("vm", "list", "--server", "localhost:7000")).isEqualTo(2);
    assertThat(err.toString()).contains("--server must be unix:/path or tcp:host:port, not 'localhost:7000'");

    assertThat(fake.requests(ListVmsRequest.class)).isEmpty();
  }

  @Test
  @DisplayName("vm create accepts a bare VmSpec file")
  void createFromSpec() throws Exception {
    Path file = Files.writeString(dir.resolve("web.json"), "{\"name\": \"web\", \"memoryMib\": 512, \"restartPolicy\": \"ON_FAILURE\"}");

    assertThat(run("vm", "create", "-f", file.toString(), "--request-id", "retry-1")).isZero();

    CreateVmRequest sent = fake.only(CreateVmRequest.class);
    assertThat(sent.getSpec().getName()).isEqualTo("web");
    assertThat(sent.getSpec().getMemoryMib()).isEqualTo(512);
    assertThat(sent.getRequestId()).isEqualTo("retry-1");
    assertThat(sent.getDesiredState()).isEqualTo(DesiredState.DESIRED_STATE_UNSPECIFIED);
    assertThat(lines().get(1)).startsWith("web   0b7c2d9e-5a1f-4c3b-9d8e-7f6a5b4c3d2e");
  }

  @Test
  @DisplayName("vm create accepts a CreateVmRequest file, and --stopped sets the desired state")
  void createFromRequest() throws Exception {
    Path file = Files.writeString(dir.resolve("req.json"),
        "{\"spec\": {\"name\": \"db\", \"memoryMib\": 1024}, \"requestId\": \"from-file\"}");

    assertThat(run("vm", "create", "-f", file.toString(), "--stopped", "-o", "json")).isZero();

    CreateVmRequest sent = fake.only(CreateVmRequest.class);
    assertThat(sent.getSpec().getName()).isEqualTo("db");
    assertThat(sent.getRequestId()).isEqualTo("from-file");
    assertThat(sent.getDesiredState()).isEqualTo(DesiredState.STOPPED);
    assertThat(parseVm(out.toString()).getDesiredState()).isEqualTo(DesiredState.STOPPED);
  }

  @Test
  @DisplayName("vm stop passes --timeout and --force")
  void stopFlags() {
    fake.startStop = r -> Future.succeededFuture(WEB);

    assertThat(run("vm", "stop", "web", "--timeout", "30", "--force")).isZero();

    StopVmRequest sent = fake.only(StopVmRequest.class);
    assertThat(sent.getVm().getName()).isEqualTo("web");
    assertThat(sent.getTimeoutSeconds()).isEqualTo(30);
    assertThat(sent.getForce()).isTrue();
  }

  @Test
  @DisplayName("events without --follow asks the server for a snapshot, prints it and stops when the server ends it")
  void eventsReplayStops() {
    for (int seq = 1; seq <= 3; seq++) {
      fake.events.add(VmEvent.newBuilder().setSeq(seq + 4).setVmId(WEB_ID).setVmName("web").setNode("node-1")
          .setType(EventType.LAUNCHED).setPhase(Phase.PHASE_RUNNING).setMessage("event " + seq)
          .setTime(Timestamp.newBuilder().setSeconds(1_700_000_000L + seq)).build());
    }

    assertThat(run("events", "--from", "4")).isZero();

    assertThat(fake.only(WatchEventsRequest.class).getFromSeq()).isEqualTo(4);
    assertThat(fake.only(WatchEventsRequest.class).getStopAtEnd()).isTrue();
    assertThat(lines()).hasSize(4);
    assertThat(lines().get(0)).startsWith("SEQ     TIME").contains("MESSAGE");
    assertThat(lines().get(1))
        .isEqualTo("5       2023-11-14T22:13:21Z  web               node-1      LAUNCHED            RUNNING    event 1");
  }

  @Test
  @DisplayName("events --output json prints one event a line; --vm by name asks for that VM's id")
  void eventsJsonForOneVm() throws Exception {
    fake.getVm = r -> Future.succeededFuture(WEB);
    fake.events.add(VmEvent.newBuilder().setSeq(1).setVmId(WEB_ID).setType(EventType.ACCEPTED).build());
    fake.events.add(VmEvent.newBuilder().setSeq(2).setVmId(WEB_ID).setType(EventType.SCHEDULED).build());

    assertThat(run("events", "--vm", "web", "-o", "json")).isZero();

    assertThat(fake.only(WatchEventsRequest.class).getVmId()).isEqualTo(WEB_ID);
    assertThat(lines()).containsExactly(
        "{\"seq\":\"1\",\"vmId\":\"" + WEB_ID + "\",\"type\":\"ACCEPTED\"}",
        "{\"seq\":\"2\",\"vmId\":\"" + WEB_ID + "\",\"type\":\"SCHEDULED\"}");
  }

  @Test
  @DisplayName("a watch the server ends with an error exits 1 with the server's message")
  void eventsEndedByServer() {
    fake.events.add(VmEvent.newBuilder().setSeq(1).setType(EventType.ACCEPTED).build());
    fake.endEventsWith = new StatusException(GrpcStatus.RESOURCE_EXHAUSTED, "fell behind: 100% full; last seq sent 1 (naïve)");

    assertThat(run("events", "--follow", "-o", "json")).isEqualTo(1);

    assertThat(err.toString()).contains("error: RESOURCE_EXHAUSTED: fell behind: 100% full; last seq sent 1 (naïve)");
  }

  @Test
  @DisplayName("node list shows state, endpoint, VMs, memory allocated of total, accelerator and heartbeat")
  void nodeList() {
    fake.nodes = ListNodesResponse.newBuilder().addNodes(Node.newBuilder().setId("node-1")
        .setEndpoint("tcp:127.0.0.1:7070").setState(NodeState.NODE_STATE_READY)
        .setLastHeartbeat(Timestamp.newBuilder().setSeconds(1_700_000_000L))
        .setInfo(NodeInfo.newBuilder().setAccelerator("kvm").setVmCount(2).setAllocatedMemoryMib(1536)
            .setCapacity(Capacity.newBuilder().setMemoryMib(8192).setMaxVms(16)))).build();

    assertThat(run("node", "list")).isZero();

    assertThat(lines()).containsExactly(
        "NODE    STATE  ENDPOINT            VMS   MEMORY         ACCEL  LAST HEARTBEAT",
        "node-1  READY  tcp:127.0.0.1:7070  2/16  1536/8192 MiB  kvm    2023-11-14T22:13:20Z");
  }

  @Test
  @DisplayName("control-planes shows each control plane: leader or standby, the leader's epoch and lease age,"
      + " addresses, start and last seen; --output json one object a line")
  void controlPlanes() throws Exception {
    Timestamp started = Timestamp.newBuilder().setSeconds(1_700_000_000L).build();
    fake.controlPlanes = io.mpqemu.v1.ListControlPlanesResponse.newBuilder()
        .addControlPlanes(io.mpqemu.v1.ControlPlane.newBuilder().setId("cp-a").setLeader(true).setLeaderEpoch(3)
            .setLeaseAgeMillis(125_000).addAddresses("tcp:10.0.0.1:7443").setStartedAt(started)
            .setLastSeen(Timestamp.newBuilder().setSeconds(1_700_000_200L)))
        .addControlPlanes(io.mpqemu.v1.ControlPlane.newBuilder().setId("cp-b").addAddresses("tcp:10.0.0.2:7443")
            .setStartedAt(started).setLastSeen(Timestamp.newBuilder().setSeconds(1_700_000_199L))).build();

    assertThat(run("control-planes")).isZero();

    assertThat(lines()).containsExactly(
        "ID    ROLE     EPOCH  LEASE AGE  ADDRESSES          STARTED               LAST SEEN",
        "cp-a  leader   3      2m5s       tcp:10.0.0.1:7443  2023-11-14T22:13:20Z  2023-11-14T22:16:40Z",
        "cp-b  standby  -      -          tcp:10.0.0.2:7443  2023-11-14T22:13:20Z  2023-11-14T22:16:39Z");
    out.getBuffer().setLength(0);
    assertThat(run("control-planes", "--output", "json")).isZero();
    assertThat(lines()).hasSize(2).first().asString().contains("\"id\":\"cp-a\"").contains("\"leader\":true");
  }

  @Test
  @DisplayName("console prints the tail of the serial console and passes --bytes")
  void console() {
    fake.console = GetConsoleLogResponse.newBuilder().setData(ByteString.copyFromUtf8("boot ok\n")).build();

    assertThat(run("console", WEB_ID, "--bytes", "4096")).isZero();

    assertThat(out.toString()).isEqualTo("boot ok\n");
    GetConsoleLogRequest sent = fake.only(GetConsoleLogRequest.class);
    assertThat(sent.getVm().getId()).isEqualTo(WEB_ID);
    assertThat(sent.getMaxBytes()).isEqualTo(4096);
  }

  @Test
  @DisplayName("--server and --output work after the subcommand too")
  void optionsAnywhere() {
    fake.startStop = r -> Future.succeededFuture(WEB);
    String address = server;
    server = "tcp:127.0.0.1:1";

    assertThat(run("vm", "start", "web", "--server", address, "--output", "json")).isZero();

    assertThat(fake.only(StartVmRequest.class).getVm().getName()).isEqualTo("web");
    assertThat(out.toString()).contains("\"name\": \"web\"");
  }

  @Command(name = "control-plane")
  static final class OtherMain {}

  @Test
  @DisplayName("the client commands mount into another command with addTo")
  void mountsIntoAnotherCommand() {
    fake.pages.put("", ListVmsResponse.newBuilder().addVms(WEB).build());
    CommandLine main = ControlPlaneCli.addTo(new CommandLine(new OtherMain()));

    assertThat(execute(main, "vm", "list", "-o", "json")).isZero();

    assertThat(lines()).hasSize(1);
  }

  @Test
  @DisplayName("the help lists the exit codes scripts can rely on")
  void helpListsExitCodes() {
    String help = ControlPlaneCli.commandLine().getSubcommands().get("vm").getSubcommands().get("get").getUsageMessage();

    assertThat(help).contains("Exit codes:", "0", "1", "2", "3", "4", "not found");
  }

  @Test
  @DisplayName("run() executes with the process's own stdout and stderr")
  void runEntryPoint() {
    assertThat(ControlPlaneCli.run("vm", "list", "--server", "nonsense")).isEqualTo(2);
  }
}
