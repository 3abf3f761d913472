package io.mpqemu.dist.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.ByteString;
import io.mpqemu.grpc.ConsoleCall;
import io.mpqemu.grpc.GrpcCallException;
import io.mpqemu.testing.Await;
import io.mpqemu.testing.TestGuest;
import io.mpqemu.v1.Boot;
import io.mpqemu.v1.ConsoleAttachOptions;
import io.mpqemu.v1.ConsoleInput;
import io.mpqemu.v1.ConsoleOpen;
import io.mpqemu.v1.ConsoleOutput;
import io.mpqemu.v1.DesiredState;
import io.mpqemu.v1.Disk;
import io.mpqemu.v1.EventType;
import io.mpqemu.v1.Phase;
import io.mpqemu.v1.ProxiedDevice;
import io.mpqemu.v1.StopVmRequest;
import io.mpqemu.v1.Vm;
import io.mpqemu.v1.VmEvent;
import io.mpqemu.v1.VmRef;
import io.mpqemu.v1.VmServiceGrpcClient;
import io.mpqemu.v1.VmSpec;
import io.vertx.core.Future;
import io.vertx.core.MultiMap;
import io.vertx.grpc.common.GrpcStatus;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * The real Debian guest on a proxied virtio-blk root disk, through the control plane: GUEST_READY from its
 * ready_pattern, then {@code console NAME --attach} run in a pseudo-terminal (util-linux {@code script})
 * as a user would, beside a read-only viewer on the gRPC API.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
@DisplayName("A real Linux guest's console through the control plane and the CLI")
class RealGuestConsoleEndToEndTest {

  /** Under TCG here: 15 to 25 s idle, more on a loaded machine. */
  private static final Duration READY_WITHIN = Duration.ofSeconds(240);
  private static final Duration ANSWER_WITHIN = Duration.ofSeconds(60);

  private Fleet fleet;
  private List<VmEvent> events;
  private Vm vm;

  @BeforeAll
  void boot() throws Exception {
    Path guest = TestGuest.ensureBuilt();
    fleet = new Fleet().startAgent("node-a", Map.of()).startControlPlane();
    Files.copy(guest.resolve("vmlinuz"), fleet.images.resolve("vmlinuz"));
    Files.copy(guest.resolve("initrd.img"), fleet.images.resolve("initrd.img"));
    TestGuest.copyRoot(guest, fleet.images.resolve("debian.img"));
    events = fleet.watch(0, null);
    vm = fleet.create(VmSpec.newBuilder().setName("debian").setMemoryMib(512)
        .addDevices(ProxiedDevice.newBuilder().setId("root0").setDriver("virtio-blk-pci")
            .addDisks(Disk.newBuilder().setId("root").setImage("debian.img")))
        .setBoot(Boot.newBuilder().setKernel("vmlinuz").setInitrd("initrd.img").setCmdline(TestGuest.CMDLINE))
        .setReadyPattern(Pattern.quote(TestGuest.PROMPT))
        .build(), DesiredState.RUNNING);
    Fleet.awaitEvent(events, e -> e.getVmId().equals(vm.getId()) && e.getType() == EventType.GUEST_READY, READY_WITHIN);
  }

  @AfterAll
  void close() throws Exception {
    if (fleet != null) {
      fleet.close();
    }
  }

  @Test
  @Order(1)
  @DisplayName("console --attach in a terminal runs commands in the guest (the disk controller is the proxied"
      + " virtio-blk); a viewer sees the same output; a second writer is refused; Ctrl-] leaves the VM running"
      + " and the terminal as it was")
  void interactive() throws Exception {
    assertThat(fleet.get(vm.getId()).getStatus().getConditionsList()).anySatisfy(c -> assertThat(c.getType())
        .isEqualTo("GuestReady"));
    Viewer viewer = Viewer.attach(fleet, false);

    Terminal cli = Terminal.run(fleet, "console debian --attach");
    cli.awaitOutput(0, "escape character is ^]");
    Throwable second = Await.failure(Viewer.open(fleet, true).compose(v -> v.call.ended()));
    assertThat(second).isInstanceOf(GrpcCallException.class);
    assertThat(((GrpcCallException) second).status()).isEqualTo(GrpcStatus.FAILED_PRECONDITION);
    assertThat(second.getMessage()).contains("already has a writer");
    int mark = cli.output().length();
    int seen = viewer.output.length();

    cli.type("cat /proc/cmdline\r");
    String line = TestGuest.CMDLINE + " irqpoll nolapic_timer";
    cli.awaitOutput(mark, line);
    viewer.awaitOutput(seen, line);
    cli.type("lspci -n\r");
    String pci = cli.awaitOutput(mark, "1af4:");
    assertThat(pci).as("the guest's disk controller is the proxied virtio-blk").containsPattern("1af4:10(01|42)");

    cli.type(new String(new byte[] {0x1d}, StandardCharsets.US_ASCII)); // Ctrl-]
    Terminal.Result done = cli.awaitExit();
    assertThat(done.code()).as(done.output()).isZero();
    assertThat(done.output()).contains("Disconnected");
    assertThat(done.sttyBefore()).as("the terminal is restored").isEqualTo(done.sttyAfter());
    assertThat(fleet.get(vm.getId()).getStatus().getPhase()).isEqualTo(Phase.PHASE_RUNNING);
    viewer.call.close();
  }

  @Test
  @Order(2)
  @DisplayName("SIGTERM to an attached CLI restores the terminal; attaching to a stopped VM is refused with the reason")
  void exitsAndRefusals() throws Exception {
    Terminal watching = Terminal.run(fleet, "console debian --attach --read-only");
    watching.awaitOutput(0, "escape character is ^]");
    ProcessHandle.of(watching.cliPid()).orElseThrow().destroy(); // SIGTERM
    Terminal.Result ended = watching.awaitExit();
    assertThat(ended.code()).as(ended.output()).isEqualTo(143);
    assertThat(ended.sttyBefore()).as("the terminal is restored").isEqualTo(ended.sttyAfter());

    fleet.call(VmServiceGrpcClient.StopVm, StopVmRequest.newBuilder().setVm(VmRef.newBuilder().setName("debian"))
        .setForce(true).build());
    fleet.awaitPhase(vm.getId(), Phase.PHASE_STOPPED, ANSWER_WITHIN);
    Terminal.Result refused = Terminal.run(fleet, "console debian --attach").awaitExit();
    assertThat(refused.code()).isEqualTo(1);
    assertThat(refused.output()).contains("FAILED_PRECONDITION").contains("is STOPPED");
    assertThat(refused.sttyBefore()).isEqualTo(refused.sttyAfter());
  }

  /** A read-only session on the gRPC API, collecting output. */
  static final class Viewer {
    final StringBuffer output = new StringBuffer();
    ConsoleCall<ConsoleInput> call;

    static Future<Viewer> open(Fleet fleet, boolean write) {
      Viewer v = new Viewer();
      ConsoleOpen open = ConsoleOpen.newBuilder().setVm(VmRef.newBuilder().setName("debian"))
          .setOptions(ConsoleAttachOptions.newBuilder().setWrite(write)).build();
      return ConsoleCall.open(fleet.grpcClient(), fleet.address(), VmServiceGrpcClient.AttachConsole,
          MultiMap.caseInsensitiveMultiMap(), ConsoleInput.newBuilder().setOpen(open).build(),
          b -> ConsoleInput.newBuilder().setData(ByteString.copyFrom(b)).build(), v::received, null).map(c -> {
            v.call = c;
            return v;
          });
    }

    static Viewer attach(Fleet fleet, boolean write) {
      return Fleet.await(open(fleet, write));
    }

    private void received(ConsoleOutput out) {
      if (!out.hasNotice()) {
        output.append(out.getData().toString(StandardCharsets.ISO_8859_1));
      }
    }

    String awaitOutput(int from, String text) {
      return Await.atMost(ANSWER_WITHIN).every(Duration.ofMillis(50)).until(() -> output.substring(from),
          s -> s.contains(text), s -> "the viewer did not see '" + text + "'; it saw: " + s);
    }
  }
}
