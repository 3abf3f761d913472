package io.mpqemu.dist.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import io.mpqemu.controlplane.cli.ControlPlaneCli;
import io.mpqemu.grpc.MessageLimits;
import io.mpqemu.grpc.UnaryCalls;
import io.mpqemu.testing.Await;
import io.mpqemu.v1.GetConsoleLogRequest;
import io.mpqemu.v1.GetConsoleLogResponse;
import io.mpqemu.v1.Phase;
import io.mpqemu.v1.Vm;
import io.mpqemu.v1.VmServiceGrpcClient;
import io.vertx.core.Vertx;
import io.vertx.grpc.client.GrpcClient;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/**
 * A full 1 MiB console tail, four times the 256 KiB Vert.x allows by default, read through every client:
 * a gRPC client with our limits against the control plane (which fetches it from the agent through
 * dispatch), {@code control-plane console} and {@code node-agent client console} (in a JVM of its own).
 * The log is written by the test: the running VM's console.log gets 1 MiB of lines appended beside
 * the guest's greeting, which is quicker and surer than a guest printing that much over a serial line.
 */
@DisplayName("A 1 MiB console tail reaches every client")
class ConsoleSizeEndToEndTest {

  private static final Duration WAIT = Duration.ofSeconds(30);
  private static final int MIB = MessageLimits.MAX_CONSOLE_BYTES;
  private Fleet fleet;

  @BeforeEach
  void start() throws Exception {
    fleet = new Fleet().startAgent("node-a", Map.of()).startControlPlane();
  }

  @AfterEach
  void close() throws Exception {
    fleet.close();
  }

  @Test
  @DisplayName("GetConsoleLog with max_bytes 1 MiB, control-plane console --bytes 1048576 and node-agent client console")
  void fullMebibyte() throws Exception {
    Vm vm = fleet.create(Fleet.lsi("chatty", fleet.bootImage("boot.img", "Hello big console")),
        io.mpqemu.v1.DesiredState.RUNNING);
    fleet.awaitPhase(vm.getId(), Phase.PHASE_RUNNING, WAIT);
    Path log = fleet.root.resolve("agent-node-a/state/vms").resolve(vm.getId()).resolve("console.log");
    Await.atMost(WAIT).until(() -> Files.exists(log) && Files.readString(log).contains("Hello big console"), ok -> ok,
        ok -> "no greeting in " + log);
    appendMebibyte(log);

    GetConsoleLogRequest request = GetConsoleLogRequest.newBuilder().setVm(Fleet.ref(vm.getId())).setMaxBytes(MIB).build();
    Vertx vertx = Vertx.vertx();
    try {
      GrpcClient client = GrpcClient.client(vertx, MessageLimits.clientOptions());
      GetConsoleLogResponse answer = Fleet.await(UnaryCalls.call(client, fleet.address(), VmServiceGrpcClient.GetConsoleLog,
          request, WAIT));
      assertThat(answer.getData().size()).isEqualTo(MIB);
      assertThat(answer.getData().toStringUtf8()).endsWith("END OF THE LOG\n");
      assertThat(answer.getTruncated()).isTrue();
    } finally {
      Fleet.await(vertx.close());
    }

    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    CommandLine cli = ControlPlaneCli.commandLine();
    cli.setOut(new PrintWriter(out, true));
    cli.setErr(new PrintWriter(err, true));
    int code = cli.execute("--server", "unix:" + fleet.cpSocket, "console", "chatty", "--bytes", String.valueOf(MIB));
    assertThat(code).as(err.toString()).isZero();
    assertThat(out.toString().getBytes(StandardCharsets.UTF_8)).hasSize(MIB);
    assertThat(out.toString()).endsWith("END OF THE LOG\n");

    Path printed = fleet.root.resolve("agent-console.out");
    Process agentCli = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-cp", System.getProperty("java.class.path"), "io.mpqemu.agent.NodeAgentMain", "client",
        "--agent", "unix:" + fleet.agentSocket("node-a"), "console", vm.getId(), "--bytes", String.valueOf(MIB))
        .redirectOutput(printed.toFile()).redirectError(ProcessBuilder.Redirect.INHERIT).start();
    assertThat(agentCli.waitFor(60, TimeUnit.SECONDS)).isTrue();
    assertThat(agentCli.exitValue()).isZero();
    String shown = Files.readString(printed);
    assertThat(shown).endsWith("END OF THE LOG\n\n"); // println after the data
    assertThat(shown.getBytes(StandardCharsets.UTF_8)).hasSize(MIB + 1);
  }

  /** 1 MiB and a little more of printable lines, the last one marked; the agent may rotate it meanwhile. */
  private static void appendMebibyte(Path log) throws Exception {
    StringBuilder text = new StringBuilder();
    String line = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ 0123456789 console line\n";
    while (text.length() < MIB + 4096) {
      text.append(line);
    }
    text.append("END OF THE LOG\n");
    Files.writeString(log, text, StandardOpenOption.APPEND);
  }
}
