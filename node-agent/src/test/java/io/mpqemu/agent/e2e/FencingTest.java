package io.mpqemu.agent.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.mpqemu.agent.NodeAgentVerticle;
import io.mpqemu.agent.process.ProcessTable;
import io.mpqemu.grpc.GrpcCallException;
import io.mpqemu.grpc.UnaryCalls;
import io.mpqemu.testing.Await;
import io.mpqemu.testing.ServiceJvm;
import io.mpqemu.v1.AgentDeleteVmRequest;
import io.mpqemu.v1.AgentStopVmRequest;
import io.mpqemu.v1.AgentVm;
import io.mpqemu.v1.LaunchVmRequest;
import io.mpqemu.v1.NodeAgentServiceGrpcClient;
import io.mpqemu.v1.Phase;
import io.mpqemu.v1.ProcessStatus;
import io.vertx.core.Future;
import io.vertx.grpc.common.GrpcStatus;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.stream.LongStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

@DisplayName("Fencing: an agent obeys the newest leader epoch it has seen, remembers it across restarts, and refuses older ones")
class FencingTest {

  private static final String VM = "vm-fenced";

  private AgentHarness h;
  private String image;

  @BeforeEach
  void start() throws Exception {
    h = new AgentHarness();
    image = h.bootImage("boot.img", "fenced guest", false);
  }

  @AfterEach
  void close() throws Exception {
    h.close();
  }

  private AgentVm launch(long epoch) {
    return h.call(NodeAgentServiceGrpcClient.LaunchVm,
        LaunchVmRequest.newBuilder().setVmId(VM).setSpec(Specs.lsi("fenced", image)).setLeaderEpoch(epoch).build());
  }

  private static AgentStopVmRequest stopRequest(String vmId, long epoch) {
    return AgentStopVmRequest.newBuilder().setVmId(vmId).setTimeoutSeconds(1).setLeaderEpoch(epoch).build();
  }

  private AgentVm stop(long epoch) {
    return h.call(NodeAgentServiceGrpcClient.StopVm, stopRequest(VM, epoch));
  }

  private long highest() {
    return h.nodeInfo().getHighestLeaderEpoch();
  }

  private Path epochFile() {
    return h.stateDir.resolve("leader-epoch");
  }

  private static void assertRefused(Runnable call, GrpcStatus status, String message) {
    assertThatThrownBy(call::run).isInstanceOfSatisfying(GrpcCallException.class, e -> {
      assertThat(e.status()).isEqualTo(status);
      assertThat(e.serverMessage()).contains(message);
    });
  }

  private static void assertStale(Runnable call, long epoch, long seen) {
    assertRefused(call, GrpcStatus.FAILED_PRECONDITION, "leader epoch " + epoch + " is older than epoch " + seen
        + " this node has seen: a newer control plane leads; this command is refused (fencing)");
  }

  private void assertStillRunning(AgentVm launched) {
    AgentVm now = h.get(VM);
    assertThat(now.getPhase()).isEqualTo(Phase.PHASE_RUNNING);
    assertThat(now.getProcessesList()).extracting(ProcessStatus::getPid)
        .containsExactlyElementsOf(launched.getProcessesList().stream().map(ProcessStatus::getPid).toList())
        .allMatch(ProcessTable::isRunning);
  }

  @Test
  @DisplayName("a launch with epoch 5 runs, and GetNodeInfo and the file beside the VM state say 5")
  void launchRaisesTheEpoch() throws Exception {
    h.startInProcess();
    assertThat(highest()).isZero();

    assertThat(launch(5).getPhase()).isEqualTo(Phase.PHASE_RUNNING);

    assertThat(highest()).isEqualTo(5);
    assertThat(Files.readString(epochFile())).isEqualTo("5\n");
  }

  @Test
  @DisplayName("a stop or delete with epoch 4 after epoch 5 is refused with FAILED_PRECONDITION naming both, and the VM keeps running")
  void olderEpochRefused() {
    h.startInProcess();
    AgentVm launched = launch(5);

    assertStale(() -> stop(4), 4, 5);
    assertStale(() -> h.call(NodeAgentServiceGrpcClient.DeleteVm,
        AgentDeleteVmRequest.newBuilder().setVmId(VM).setForce(true).setLeaderEpoch(4).build()), 4, 5);

    assertStillRunning(launched);
    assertThat(highest()).isEqualTo(5);
  }

  @Test
  @DisplayName("a stop with epoch 6 works and raises the epoch to 6; the leader of epoch 5 can no longer launch the VM again")
  void newerEpochWorks() throws Exception {
    h.startInProcess();
    launch(5);

    assertThat(stop(6).getPhase()).isEqualTo(Phase.PHASE_STOPPED);

    assertThat(highest()).isEqualTo(6);
    assertThat(Files.readString(epochFile())).isEqualTo("6\n");
    assertStale(() -> launch(5), 5, 6);
    assertThat(h.get(VM).getPhase()).isEqualTo(Phase.PHASE_STOPPED);
  }

  @Test
  @DisplayName("epoch 0 works and records nothing while no epoch was seen; once one was, epoch 0 is refused too")
  void epochZero() {
    h.startInProcess();

    AgentVm launched = launch(0);
    assertThat(launched.getPhase()).isEqualTo(Phase.PHASE_RUNNING);
    assertThat(highest()).isZero();
    assertThat(epochFile()).doesNotExist();

    assertThat(launch(3).getPhase()).as("the same launch again: idempotent").isEqualTo(Phase.PHASE_RUNNING);
    assertRefused(() -> stop(0), GrpcStatus.FAILED_PRECONDITION,
        "this command carries no leader epoch, and this node has seen epoch 3: a control plane that holds leadership"
            + " leads it; commands without an epoch are refused (fencing)");
    assertStillRunning(launched);
  }

  @Test
  @DisplayName("an epoch above 2^63-1 is INVALID_ARGUMENT and changes nothing")
  void epochTooLarge() {
    h.startInProcess();

    assertRefused(() -> launch(-1), GrpcStatus.INVALID_ARGUMENT,
        "leader_epoch must be at most 9223372036854775807, was 18446744073709551615");
    assertThat(highest()).isZero();
    assertThat(h.list()).isEmpty();
  }

  @Test
  @DisplayName("the epoch survives an agent restart: the new agent refuses epoch 4 and adopts the VM")
  void survivesRestart() {
    h.startInProcess();
    AgentVm launched = launch(5);
    h.stopInProcess();

    h.startInProcess();

    assertThat(highest()).isEqualTo(5);
    assertStale(() -> stop(4), 4, 5);
    assertStillRunning(launched);
  }

  @Test
  @DisplayName("an epoch answered is durable: after kill -9 of the agent the next one remembers it")
  void survivesKill9() throws Exception {
    AgentVm launched;
    try (ServiceJvm first = h.startJvm()) {
      launched = launch(7);
      first.kill9();
    }
    try (ServiceJvm second = h.startJvm()) {
      assertThat(second.log()).contains("leader epoch: 7 (" + epochFile() + ")");
      assertThat(highest()).isEqualTo(7);
      assertStale(() -> stop(6), 6, 7);
      assertStillRunning(launched);
      assertThat(stop(7).getPhase()).isEqualTo(Phase.PHASE_STOPPED);
    }
  }

  @Test
  @DisplayName("commands with many epochs at once: each is admitted or refused as stale, the highest is admitted and remembered")
  void concurrentEpochs() throws Exception {
    h.startInProcess();
    List<Long> epochs = new ArrayList<>(LongStream.rangeClosed(1, 40).boxed().toList());
    Collections.shuffle(epochs);

    // a stop of a VM this node does not have: NOT_FOUND once admitted, FAILED_PRECONDITION when fenced
    List<Future<AgentVm>> answers = epochs.stream().map(epoch -> UnaryCalls.call(h.grpcClient(), h.address(),
        NodeAgentServiceGrpcClient.StopVm, stopRequest("vm-none", epoch), AgentHarness.CALL_DEADLINE)).toList();

    for (int i = 0; i < epochs.size(); i++) {
      GrpcCallException e = (GrpcCallException) Await.failure(answers.get(i));
      long epoch = epochs.get(i);
      if (epoch == 40) {
        assertThat(e.status()).as("the highest epoch is admitted").isEqualTo(GrpcStatus.NOT_FOUND);
      } else {
        assertThat(e.status()).as("epoch %d: %s", epoch, e.serverMessage())
            .isIn(GrpcStatus.NOT_FOUND, GrpcStatus.FAILED_PRECONDITION);
      }
    }
    assertThat(highest()).isEqualTo(40);
    assertThat(Files.readString(epochFile())).isEqualTo("40\n");
  }

  @Test
  @DisplayName("a corrupt epoch file stops the agent at start-up with one line naming the file; a fixed one starts it")
  void corruptFileRefusesToStart() throws Exception {
    Files.createDirectories(h.stateDir);
    Files.writeString(epochFile(), "five\n");

    Throwable failure = Await.failure(h.vertx().deployVerticle(new NodeAgentVerticle(h.config())));
    assertThat(failure).hasMessageStartingWith("the leader epoch file " + epochFile() + " holds 'five?', not an epoch");
    assertThatThrownBy(h::startJvm).isInstanceOf(AssertionError.class)
        .hasMessageContaining("node-agent: cannot start: the leader epoch file " + epochFile() + " holds 'five?'");

    Files.writeString(epochFile(), "5");
    h.startInProcess();
    assertThat(highest()).isEqualTo(5);
  }
}
