package io.mpqemu.controlplane.store;

class SqliteStoreConflictContractTest extends StoreConflictContract {

  @Override
  StoreEngine startEngine() throws Exception {
    return StoreEngine.sqlite();
  }
}
