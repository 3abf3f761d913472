package io.mpqemu.controlplane.store;

class SqliteStoreContractTest extends StoreContract {

  @Override
  StoreEngine startEngine() throws Exception {
    return StoreEngine.sqlite();
  }
}
