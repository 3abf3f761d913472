package io.mpqemu.dist.e2e;

import io.mpqemu.controlplane.store.StoreTarget;
import org.junit.jupiter.api.DisplayName;

@DisplayName("The control plane on SQLite drives real agents and QEMU through its gRPC API")
class ControlPlaneEndToEndTest extends ControlPlaneEndToEndContract {

  @Override
  StoreTarget store() {
    return null;
  }
}
