package io.mpqemu.dist.e2e;

import com.google.protobuf.ByteString;
import io.mpqemu.grpc.ConsoleCall;
import io.mpqemu.testing.Await;
import io.mpqemu.v1.Boot;
import io.mpqemu.v1.ConsoleAttachOptions;
import io.mpqemu.v1.ConsoleInput;
import io.mpqemu.v1.ConsoleOpen;
import io.vertx.core.MultiMap;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.mpqemu.grpc.GrpcCallException;
import io.mpqemu.v1.CreateVmRequest;
import io.mpqemu.v1.DeleteVmRequest;
import io.mpqemu.v1.DesiredState;
import io.mpqemu.v1.Disk;
import io.mpqemu.v1.GetConsoleLogRequest;
import io.mpqemu.v1.GetVmRequest;
import io.mpqemu.v1.ListVmsRequest;
import io.mpqemu.v1.ListVmsResponse;
import io.mpqemu.v1.ProxiedDevice;
import io.mpqemu.v1.StartVmRequest;
import io.mpqemu.v1.StopVmRequest;
import io.mpqemu.v1.Vm;
import io.mpqemu.v1.VmRef;
import io.mpqemu.v1.VmServiceGrpcClient;
import io.mpqemu.v1.VmSpec;
import io.mpqemu.v1.WatchEventsRequest;
import io.vertx.grpc.common.GrpcStatus;
import io.vertx.grpc.common.ServiceMethod;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.function.UnaryOperator;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Named;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

@DisplayName("VmService answers bad requests with the right status and a message that says what to fix")
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class VmServiceBadRequestTest {

  private Fleet fleet;

  @BeforeAll
  void start() throws Exception {
    fleet = new Fleet().startControlPlane();
  }

  @AfterAll
  void close() throws Exception {
    fleet.close();
  }

  private static VmSpec good() {
    return Fleet.lsi("good", "boot.img");
  }

  private static Arguments row(String name, UnaryOperator<VmSpec.Builder> change, GrpcStatus status, String fragment) {
    return Arguments.of(Named.of(name, change), status, fragment);
  }

  private static ProxiedDevice.Builder device() {
    return good().getDevices(0).toBuilder();
  }

  static Stream<Arguments> badSpecs() {
    return Stream.of(
        row("uppercase name", s -> s.setName("Web"), GrpcStatus.INVALID_ARGUMENT, "name"),
        row("empty name", s -> s.setName(""), GrpcStatus.INVALID_ARGUMENT, "name"),
        row("name with a comma", s -> s.setName("a,b"), GrpcStatus.INVALID_ARGUMENT, "name"),
        row("no memory", s -> s.setMemoryMib(0), GrpcStatus.INVALID_ARGUMENT, "memory_mib"),
        row("absurd memory", s -> s.setMemoryMib(1_000_000_000), GrpcStatus.INVALID_ARGUMENT, "memory_mib"),
        row("unknown machine", s -> s.setMachine("isapc"), GrpcStatus.INVALID_ARGUMENT, "machine"),
        row("no device", s -> s.clearDevices(), GrpcStatus.INVALID_ARGUMENT, "devices"),
        row("unknown driver", s -> s.setDevices(0, device().setDriver("e1000")), GrpcStatus.INVALID_ARGUMENT, "devices[0].driver"),
        row("driver injection", s -> s.setDevices(0, device().setDriver("lsi53c895a,fd=3")), GrpcStatus.INVALID_ARGUMENT,
            "devices[0].driver"),
        row("device id injection", s -> s.setDevices(0, device().setId("x\",\"driver\":\"evil")), GrpcStatus.INVALID_ARGUMENT,
            "devices[0].id"),
        row("image escaping the root", s -> s.setDevices(0, device().setDisks(0, Disk.newBuilder().setId("d")
            .setImage("../etc/passwd"))), GrpcStatus.INVALID_ARGUMENT, "devices[0].disks[0].image"),
        row("absolute image", s -> s.setDevices(0, device().setDisks(0, Disk.newBuilder().setId("d")
            .setImage("/etc/passwd"))), GrpcStatus.INVALID_ARGUMENT, "devices[0].disks[0].image"),
        row("bad format", s -> s.setDevices(0, device().setDisks(0, Disk.newBuilder().setId("d").setImage("a.img")
            .setFormat("vmdk"))), GrpcStatus.INVALID_ARGUMENT, "format"),
        row("duplicate device ids", s -> s.addDevices(device()), GrpcStatus.INVALID_ARGUMENT, "devices[1].id"),
        row("too many devices", s -> {
          for (int i = 1; i < 9; i++) {
            s.addDevices(device().setId("lsi" + i).setDisks(0, Disk.newBuilder().setId("d" + i).setImage("a.img")));
          }
          return s;
        }, GrpcStatus.INVALID_ARGUMENT, "devices"),
        row("nvme with two disks", s -> s.setDevices(0, ProxiedDevice.newBuilder().setId("n").setDriver("nvme")
            .addDisks(Disk.newBuilder().setId("a").setImage("a.img")).addDisks(Disk.newBuilder().setId("b").setImage("b.img"))),
            GrpcStatus.INVALID_ARGUMENT, "devices[0]"),
        row("label injection", s -> s.putLabels("k", "v,x=y"), GrpcStatus.INVALID_ARGUMENT, "labels"),
        row("invalid ready_pattern", s -> s.setReadyPattern("login: ("), GrpcStatus.INVALID_ARGUMENT,
            "ready_pattern is not a valid regular expression"),
        row("ready_pattern with a back-reference", s -> s.setReadyPattern("(a)\\1"), GrpcStatus.INVALID_ARGUMENT,
            "back-reference"),
        row("cloud-init user data over 64 KiB", s -> s.setCloudInit(io.mpqemu.v1.CloudInit.newBuilder()
            .setUserData("#cloud-config\n" + "x".repeat(65536))), GrpcStatus.INVALID_ARGUMENT,
            "cloud_init.user_data is 65550 bytes: keep it to 65536"),
        row("cloud-init meta data as JSON", s -> s.setCloudInit(io.mpqemu.v1.CloudInit.newBuilder()
            .setMetaData("{\"instance-id\": \"x\"}")), GrpcStatus.INVALID_ARGUMENT, "YAML block mapping"),
        row("initrd without a kernel", s -> s.setBoot(Boot.newBuilder().setInitrd("initrd.img")),
            GrpcStatus.INVALID_ARGUMENT, "boot.initrd is set without boot.kernel"),
        row("over-long kernel command line", s -> s.setBoot(Boot.newBuilder().setKernel("vmlinuz")
            .setCmdline("x".repeat(2049))), GrpcStatus.INVALID_ARGUMENT, "boot.cmdline"),
        row("kernel command line with a newline", s -> s.setBoot(Boot.newBuilder().setKernel("vmlinuz")
            .setCmdline("console=ttyS0\ninit=/bin/sh")), GrpcStatus.INVALID_ARGUMENT, "not printable ASCII"),
        row("kernel escaping the root", s -> s.setBoot(Boot.newBuilder().setKernel("../boot/vmlinuz")),
            GrpcStatus.INVALID_ARGUMENT, "boot.kernel"));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("badSpecs")
  @DisplayName("CreateVm refuses a bad spec and stores nothing")
  void badSpec(UnaryOperator<VmSpec.Builder> change, GrpcStatus status, String fragment) {
    long before = count();
    VmSpec spec = change.apply(good().toBuilder()).build();

    assertThatThrownBy(() -> fleet.call(VmServiceGrpcClient.CreateVm, CreateVmRequest.newBuilder().setSpec(spec).build()))
        .isInstanceOfSatisfying(GrpcCallException.class, e -> {
          assertThat(e.status()).isEqualTo(status);
          assertThat(e.serverMessage()).contains(fragment);
        });
    assertThat(count()).isEqualTo(before);
  }

  @Test
  @DisplayName("CreateVm without a spec, with a bad request_id or an unknown desired state is INVALID_ARGUMENT")
  void badCreateRequests() {
    expect(VmServiceGrpcClient.CreateVm, CreateVmRequest.getDefaultInstance(), GrpcStatus.INVALID_ARGUMENT, "spec is required");
    expect(VmServiceGrpcClient.CreateVm, CreateVmRequest.newBuilder().setSpec(good()).setRequestId("a b").build(),
        GrpcStatus.INVALID_ARGUMENT, "request_id");
    expect(VmServiceGrpcClient.CreateVm, CreateVmRequest.newBuilder().setSpec(good()).setDesiredStateValue(7).build(),
        GrpcStatus.INVALID_ARGUMENT, "desired_state");
  }

  @Test
  @DisplayName("a second VM with a name in use is ALREADY_EXISTS")
  void duplicateName() {
    fleet.create(Fleet.lsi("twin", "a.img"), DesiredState.STOPPED);

    expect(VmServiceGrpcClient.CreateVm, CreateVmRequest.newBuilder().setSpec(Fleet.lsi("twin", "b.img"))
        .setDesiredState(DesiredState.STOPPED).build(), GrpcStatus.ALREADY_EXISTS, "'twin' already exists");
  }

  @Test
  @DisplayName("commands that do not fit the VM's phase are FAILED_PRECONDITION and say why")
  void wrongPhases() {
    Vm stopped = fleet.create(Fleet.lsi("idle", "a.img"), DesiredState.STOPPED);
    Vm pending = fleet.create(Fleet.lsi("waiting", "a.img").toBuilder().putNodeSelector("zone", "nowhere").build(),
        DesiredState.RUNNING);

    expect(VmServiceGrpcClient.StopVm, StopVmRequest.newBuilder().setVm(Fleet.ref(stopped.getId())).build(),
        GrpcStatus.FAILED_PRECONDITION, "already stopped");
    expect(VmServiceGrpcClient.StartVm, StartVmRequest.newBuilder().setVm(Fleet.ref(pending.getId())).build(),
        GrpcStatus.FAILED_PRECONDITION, "already pending");
    expect(VmServiceGrpcClient.GetConsoleLog, GetConsoleLogRequest.newBuilder().setVm(Fleet.ref(pending.getId())).build(),
        GrpcStatus.FAILED_PRECONDITION, "has not been placed");
  }

  @Test
  @DisplayName("AttachConsole: a first message that does not open, bad options, an unknown VM or one not placed are"
      + " refused with what to fix")
  void badConsoleAttaches() {
    Vm pending = fleet.create(Fleet.lsi("unplaced", "a.img").toBuilder().putNodeSelector("zone", "nowhere").build(),
        DesiredState.RUNNING);
    ConsoleOpen.Builder open = ConsoleOpen.newBuilder().setVm(Fleet.ref(pending.getId()));
    expectConsole(ConsoleInput.newBuilder().setData(ByteString.copyFromUtf8("ls\n")).build(), GrpcStatus.INVALID_ARGUMENT,
        "the first message must be open");
    expectConsole(ConsoleInput.newBuilder().setOpen(open.clone().setOptions(ConsoleAttachOptions.newBuilder()
        .setHistoryBytes(1 << 20))).build(), GrpcStatus.INVALID_ARGUMENT, "history_bytes must be at most 65536");
    expectConsole(ConsoleInput.newBuilder().setOpen(open.clone().setOptions(ConsoleAttachOptions.newBuilder()
        .setForce(true))).build(), GrpcStatus.INVALID_ARGUMENT, "force takes over writing");
    expectConsole(ConsoleInput.newBuilder().setOpen(open.clone().setVm(VmRef.newBuilder().setName("nobody"))).build(),
        GrpcStatus.NOT_FOUND, "nobody");
    expectConsole(ConsoleInput.newBuilder().setOpen(open).build(), GrpcStatus.FAILED_PRECONDITION, "has not been placed");
  }

  private void expectConsole(ConsoleInput first, GrpcStatus status, String fragment) {
    Throwable e = Await.failure(ConsoleCall.open(fleet.grpcClient(), fleet.address(), VmServiceGrpcClient.AttachConsole,
        MultiMap.caseInsensitiveMultiMap(), first, b -> ConsoleInput.newBuilder().setData(ByteString.copyFrom(b)).build(),
        out -> { }, null).compose(ConsoleCall::ended));
    assertThat(e).isInstanceOfSatisfying(GrpcCallException.class, g -> {
      assertThat(g.status()).as(g.getMessage()).isEqualTo(status);
      assertThat(g.serverMessage()).contains(fragment);
    });
  }

  @Test
  @DisplayName("unknown VMs are NOT_FOUND; naming a VM by both or neither id and name is INVALID_ARGUMENT")
  void unknownIds() {
    VmRef nobody = VmRef.newBuilder().setName("nobody").build();
    VmRef missingId = VmRef.newBuilder().setId("00000000-0000-0000-0000-000000000000").build();
    expect(VmServiceGrpcClient.GetVm, GetVmRequest.newBuilder().setVm(nobody).build(), GrpcStatus.NOT_FOUND, "no VM named 'nobody'");
    expect(VmServiceGrpcClient.StartVm, StartVmRequest.newBuilder().setVm(missingId).build(), GrpcStatus.NOT_FOUND, "no VM with id");
    expect(VmServiceGrpcClient.StopVm, StopVmRequest.newBuilder().setVm(nobody).build(), GrpcStatus.NOT_FOUND, "nobody");
    expect(VmServiceGrpcClient.DeleteVm, DeleteVmRequest.newBuilder().setVm(nobody).build(), GrpcStatus.NOT_FOUND, "nobody");
    expect(VmServiceGrpcClient.GetConsoleLog, GetConsoleLogRequest.newBuilder().setVm(nobody).build(), GrpcStatus.NOT_FOUND, "nobody");
    expect(VmServiceGrpcClient.GetVm, GetVmRequest.newBuilder().setVm(VmRef.newBuilder().setId("a").setName("b")).build(),
        GrpcStatus.INVALID_ARGUMENT, "exactly one");
    expect(VmServiceGrpcClient.GetVm, GetVmRequest.getDefaultInstance(), GrpcStatus.INVALID_ARGUMENT, "exactly one");
  }

  @Test
  @DisplayName("ListVms pages without skipping or repeating, and refuses bad page tokens, sizes and selectors")
  void paging() {
    for (int i = 0; i < 250; i++) {
      fleet.create(Fleet.lsi(String.format("page-%03d", i), "a.img").toBuilder().putLabels("set", "paging").build(),
          DesiredState.STOPPED);
    }
    List<String> seen = new ArrayList<>();
    String token = "";
    int pages = 0;
    do {
      ListVmsResponse page = fleet.call(VmServiceGrpcClient.ListVms, ListVmsRequest.newBuilder().setPageSize(100)
          .setLabelSelector("set=paging").setPageToken(token).build());
      page.getVmsList().forEach(vm -> seen.add(vm.getSpec().getName()));
      token = page.getNextPageToken();
      pages++;
    } while (!token.isEmpty());

    assertThat(pages).isEqualTo(3);
    assertThat(seen).hasSize(250);
    assertThat(new HashSet<>(seen)).hasSize(250);
    expect(VmServiceGrpcClient.ListVms, ListVmsRequest.newBuilder().setPageToken("garbage!").build(),
        GrpcStatus.INVALID_ARGUMENT, "page_token");
    expect(VmServiceGrpcClient.ListVms, ListVmsRequest.newBuilder().setPageSize(5000).build(),
        GrpcStatus.INVALID_ARGUMENT, "page_size");
    expect(VmServiceGrpcClient.ListVms, ListVmsRequest.newBuilder().setLabelSelector("a=b,,").build(),
        GrpcStatus.INVALID_ARGUMENT, "label_selector");
    expect(VmServiceGrpcClient.StopVm, StopVmRequest.newBuilder().setVm(VmRef.newBuilder().setName("page-000"))
        .setTimeoutSeconds(-1).build(), GrpcStatus.INVALID_ARGUMENT, "timeout_seconds");
  }

  @Test
  @DisplayName("WatchEvents from a seq beyond the end of the log is OUT_OF_RANGE")
  void fromSeqBeyondEnd() {
    io.vertx.grpc.common.GrpcStatus[] status = new GrpcStatus[1];
    String[] message = new String[1];
    Fleet.await(fleet.grpcClient().request(fleet.address(), VmServiceGrpcClient.WatchEvents).compose(req -> {
      req.end(WatchEventsRequest.newBuilder().setFromSeq(1_000_000).build());
      return req.response().compose(resp -> resp.end().transform(ar -> {
        status[0] = resp.status();
        message[0] = resp.statusMessage();
        return io.vertx.core.Future.succeededFuture();
      }));
    }));

    assertThat(status[0]).isEqualTo(GrpcStatus.OUT_OF_RANGE);
    assertThat(message[0]).contains("beyond the end of the event log");
  }

  private long count() {
    return fleet.call(VmServiceGrpcClient.ListVms, ListVmsRequest.newBuilder().setPageSize(1000).build()).getVmsCount();
  }

  private <Req, Resp> void expect(ServiceMethod<Resp, Req> method, Req request, GrpcStatus status, String fragment) {
    assertThatThrownBy(() -> fleet.call(method, request)).isInstanceOfSatisfying(GrpcCallException.class, e -> {
      assertThat(e.status()).as(e.getMessage()).isEqualTo(status);
      assertThat(e.serverMessage()).contains(fragment);
    });
  }
}
