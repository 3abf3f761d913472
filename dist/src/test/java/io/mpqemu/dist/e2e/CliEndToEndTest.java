package io.mpqemu.dist.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import io.mpqemu.controlplane.cli.ControlPlaneCli;
import io.mpqemu.testing.Await;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

@DisplayName("The CLI drives a real control plane through a VM's whole life")
class CliEndToEndTest {

  private Fleet fleet;

  @BeforeEach
  void start() throws Exception {
    fleet = new Fleet().startAgent("node-a", Map.of()).startControlPlane();
  }

  @AfterEach
  void close() throws Exception {
    fleet.close();
  }

  private CliRun cli(String... args) {
    return CliRun.of(fleet.cpSocket, args);
  }

  private CliRun awaitOutput(String text, String... args) {
    CliRun last = Await.atMost(Fleet.DEADLINE).every(Duration.ofMillis(100))
        .poll(() -> cli(args), run -> run.out().contains(text));
    assertThat(last.out()).as("output of %s", String.join(" ", args)).contains(text);
    return last;
  }

  @Test
  @DisplayName("vm create, list, console, stop, start, delete, events and node list, with the exit codes scripts rely on")
  void wholeLife() throws Exception {
    fleet.bootImage("boot.img", "Hello CLI");
    Path spec = fleet.root.resolve("spec.json");
    Files.writeString(spec, """
        {"name": "cli-vm", "memoryMib": 64, "devices": [
          {"id": "lsi0", "driver": "lsi53c895a", "disks": [{"id": "boot", "image": "boot.img"}]}]}
        """);

    CliRun created = cli("vm", "create", "-f", spec.toString());

    assertThat(created.code()).as(created.err()).isZero();
    assertThat(created.out()).contains("cli-vm");
    awaitOutput("\"PHASE_RUNNING\"", "vm", "get", "cli-vm", "--output", "json");
    assertThat(awaitOutput("Hello CLI", "console", "cli-vm").code()).isZero();
    CliRun list = cli("vm", "list", "--output", "json");
    assertThat(list.out()).contains("\"name\":\"cli-vm\"").contains("PHASE_RUNNING");
    assertThat(cli("node", "list").out()).contains("node-a").contains("READY");

    assertThat(cli("vm", "stop", "cli-vm", "--timeout", "1").code()).isZero();
    awaitOutput("\"PHASE_STOPPED\"", "vm", "get", "cli-vm", "--output", "json");
    CliRun again = cli("vm", "stop", "cli-vm");
    assertThat(again.code()).as("stopping a stopped VM is refused").isEqualTo(1);
    assertThat(again.err()).contains("FAILED_PRECONDITION").contains("already stopped");
    assertThat(cli("vm", "start", "cli-vm").code()).isZero();
    awaitOutput("\"PHASE_RUNNING\"", "vm", "get", "cli-vm", "--output", "json");
    assertThat(cli("vm", "delete", "cli-vm").code()).isZero();

    CliRun gone = cli("vm", "get", "cli-vm");
    assertThat(gone.code()).as("no such VM").isEqualTo(4);
    CliRun events = cli("events", "--from", "0");
    assertThat(events.code()).isZero();
    assertThat(events.out()).contains("ACCEPTED").contains("LAUNCHED").contains("VM_STOPPED").contains("VM_DELETED");
    assertThat(fleet.qemuPids()).isEmpty();
  }

  @Test
  @DisplayName("an unreachable control plane is exit code 3 with a message that says what to do")
  void unreachable() {
    StringWriter err = new StringWriter();
    CommandLine cl = ControlPlaneCli.commandLine();
    cl.setErr(new PrintWriter(err, true));

    int code = cl.execute("--server", "unix:" + fleet.root.resolve("nothing-here.sock"), "vm", "list");

    assertThat(code).isEqualTo(3);
    assertThat(err.toString()).contains("cannot reach the control plane").contains("--server");
  }
}
