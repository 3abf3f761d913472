package io.mpqemu.controlplane.store;

class SqliteStoreExecutorContractTest extends StoreExecutorContract {

  @Override
  StoreEngine startEngine() throws Exception {
    return StoreEngine.sqlite();
  }
}
