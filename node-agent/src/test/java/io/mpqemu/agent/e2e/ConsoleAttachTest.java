package io.mpqemu.agent.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import io.mpqemu.grpc.GrpcCallException;
import io.mpqemu.v1.ConsoleAttachOptions;
import io.mpqemu.v1.EventType;
import io.mpqemu.v1.VmSpec;
import io.vertx.grpc.common.GrpcStatus;
import java.time.Duration;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * AttachConsole with a boot sector that writes one line and halts: the history, readiness from the log,
 * and what a bad attach gets. The real guest's interactive session is in {@link RealGuestTest}.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ConsoleAttachTest {

  private AgentHarness agent;

  @BeforeAll
  void start() throws Exception {
    agent = new AgentHarness().startInProcess();
    String image = agent.bootImage("boot.img", "Hello from lsi0", false);
    VmSpec spec = Specs.lsi("hello", image).toBuilder().setReadyPattern("Hello from \\w+").build();
    agent.launch("vm-1", spec);
  }

  @AfterAll
  void stop() throws Exception {
    agent.close();
  }

  @Test
  @DisplayName("a line that matches ready_pattern makes the VM ready once; a session gets the line as recent output")
  void readyAndHistory() {
    agent.awaitBusEvent(e -> e.getVmId().equals("vm-1") && e.getType() == EventType.GUEST_READY, Duration.ofSeconds(30));
    assertThat(agent.get("vm-1").hasGuestReadyAt()).isTrue();

    ConsoleProbe reader = ConsoleProbe.attach(agent, "vm-1", false, false);
    assertThat(reader.output.toString()).contains("Hello from lsi0");
    reader.leave();
    assertThat(agent.busEventsOf("vm-1")).filteredOn(e -> e.getType() == EventType.GUEST_READY).hasSize(1);
  }

  @Test
  @DisplayName("bad attaches are refused with the status that says what to fix")
  void badAttaches() {
    assertRefused("vm-1/../x", ConsoleAttachOptions.getDefaultInstance(), GrpcStatus.INVALID_ARGUMENT, "vm_id");
    assertRefused("vm-1", ConsoleAttachOptions.newBuilder().setHistoryBytes(70_000).build(), GrpcStatus.INVALID_ARGUMENT,
        "history_bytes must be at most 65536");
    assertRefused("vm-1", ConsoleAttachOptions.newBuilder().setForce(true).build(), GrpcStatus.INVALID_ARGUMENT,
        "force takes over writing: it needs write");
    assertRefused("vm-9", ConsoleAttachOptions.getDefaultInstance(), GrpcStatus.NOT_FOUND, "no VM vm-9 on this node");
  }

  private void assertRefused(String vmId, ConsoleAttachOptions options, GrpcStatus status, String message) {
    GrpcCallException e = ConsoleProbe.refusal(agent, vmId, options);
    assertThat(e.status()).isEqualTo(status);
    assertThat(e.getMessage()).contains(message);
  }
}
