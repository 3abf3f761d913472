package io.mpqemu.dist.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.mpqemu.controlplane.store.PostgresTarget;
import io.mpqemu.controlplane.store.StoreTarget;
import io.mpqemu.grpc.GrpcCallException;
import io.mpqemu.testing.Await;
import io.mpqemu.testing.PostgresServer;
import io.mpqemu.v1.AgentGetVmRequest;
import io.mpqemu.v1.DesiredState;
import io.mpqemu.v1.NodeAgentServiceGrpcClient;
import io.mpqemu.v1.Phase;
import io.mpqemu.v1.Vm;
import io.vertx.grpc.common.GrpcStatus;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/** The same cases with the control plane on a real PostgreSQL (Debian's, run as the postgres user), a database per case. */
@DisplayName("The control plane on PostgreSQL drives real agents and QEMU through its gRPC API")
class ControlPlaneOnPostgresEndToEndTest extends ControlPlaneEndToEndContract {

  private static final Duration WAIT = Duration.ofSeconds(30);
  private static PostgresServer server;
  private PostgresServer.Database database;

  @BeforeAll
  static void startPostgres() throws Exception {
    server = PostgresServer.create();
  }

  @AfterAll
  static void stopPostgres() {
    if (server != null) {
      server.close();
    }
  }

  @Override
  StoreTarget store() throws Exception {
    database = server.createDatabase("e2e");
    return PostgresTarget.parse(database.url(), database.password());
  }

  @Test
  @DisplayName("PostgreSQL stopped while a VM runs: the VM runs on untouched, calls fail UNAVAILABLE naming the store, and all is served again once it is back")
  void databaseDownWhileAVmRuns() throws Exception {
    String image = fleet.bootImage("boot.img", "steady");
    Vm vm = fleet.create(Fleet.lsi("steady", image), DesiredState.RUNNING);
    fleet.awaitPhase(vm.getId(), Phase.PHASE_RUNNING, WAIT);
    List<Long> pids = fleet.qemuPids();

    server.stop();
    try {
      assertThatThrownBy(() -> fleet.create(Fleet.lsi("late", image), DesiredState.RUNNING))
          .isInstanceOfSatisfying(GrpcCallException.class, e -> {
            assertThat(e.status()).isEqualTo(GrpcStatus.UNAVAILABLE);
            assertThat(e.serverMessage()).isEqualTo("the control plane's store, PostgreSQL at 127.0.0.1:" + server.port()
                + "/" + database.name() + ", is unavailable; retry once it is back");
          });
      Await.sleep(5_000); // reconciliation passes (every 2 s here) and heartbeats go on without a store
      assertThat(fleet.callAgent("node-a", NodeAgentServiceGrpcClient.GetVm,
          AgentGetVmRequest.newBuilder().setVmId(vm.getId()).build()).getPhase()).isEqualTo(Phase.PHASE_RUNNING);
      assertThat(fleet.qemuPids()).as("the same processes").containsExactlyInAnyOrderElementsOf(pids);
    } finally {
      server.start();
    }

    // the control plane stepped down while it could not renew its lease: it leads again once it has the
    // lease back (its next attempt, within a second) and has taken office; writes meanwhile say so
    Vm late = Await.atMost(Duration.ofSeconds(20)).poll(() -> {
      try {
        return fleet.create(Fleet.lsi("late", image), DesiredState.STOPPED);
      } catch (GrpcCallException e) {
        assertThat(e.status()).isEqualTo(GrpcStatus.UNAVAILABLE);
        assertThat(e.serverMessage()).contains("takes no writes");
        return null;
      }
    }, created -> created != null);
    assertThat(late.getSpec().getName()).isEqualTo("late");
    assertThat(fleet.get(vm.getId()).getStatus().getPhase()).isEqualTo(Phase.PHASE_RUNNING);
    assertThat(fleet.qemuPids()).containsExactlyInAnyOrderElementsOf(pids);
  }
}
