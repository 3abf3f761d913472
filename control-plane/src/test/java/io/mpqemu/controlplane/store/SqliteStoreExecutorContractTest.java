package io.mpqemu.controlplane.store;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

class SqliteStoreExecutorContractTest extends StoreExecutorContract {

  private static StoreEngine engine;

  @BeforeAll
  static void start() throws Exception {
    engine = StoreEngine.sqlite();
  }

  @AfterAll
  static void stop() throws Exception {
    engine.close();
  }

  @Override
  StoreEngine engine() {
    return engine;
  }
}
