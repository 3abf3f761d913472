package io.mpqemu.controlplane.store;

class PostgresStoreContractTest extends StoreContract {

  @Override
  StoreEngine startEngine() throws Exception {
    return StoreEngine.postgres("store_contract");
  }
}
