package io.mpqemu.dist.e2e;

import io.mpqemu.controlplane.store.PostgresTarget;
import io.mpqemu.controlplane.store.StoreTarget;
import io.mpqemu.testing.PostgresServer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;

/** The same cases with the control plane on a real PostgreSQL (Debian's, run as the postgres user), a database per case. */
@DisplayName("The control plane on PostgreSQL drives real agents and QEMU through its gRPC API")
class ControlPlaneOnPostgresEndToEndTest extends ControlPlaneEndToEndContract {

  private static PostgresServer server;

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
    PostgresServer.Database database = server.createDatabase("e2e");
    return PostgresTarget.parse(database.url(), database.password());
  }
}
