package io.mpqemu.controlplane.store;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.TestInstance;

/**
 * The lifecycle every contract shares: the engine (a PostgreSQL server, a temporary directory) once per
 * test class, made by the subclass for its engine, and a store on an empty database for each test.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
abstract class StoreEngineTest {

  private StoreEngine engine;
  Store store;

  /** The engine this subclass tests. */
  abstract StoreEngine startEngine() throws Exception;

  @BeforeAll
  void startOnce() throws Exception {
    engine = startEngine();
  }

  @AfterAll
  void stopOnce() throws Exception {
    engine.close();
  }

  @BeforeEach
  void openEmpty() throws Exception {
    store = engine.openEmpty();
  }

  @AfterEach
  void closeStore() {
    store.close();
  }

  StoreEngine engine() {
    return engine;
  }
}
