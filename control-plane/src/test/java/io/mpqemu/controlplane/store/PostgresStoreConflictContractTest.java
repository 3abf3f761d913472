package io.mpqemu.controlplane.store;

class PostgresStoreConflictContractTest extends StoreConflictContract {

  @Override
  StoreEngine startEngine() throws Exception {
    return StoreEngine.postgres("conflict_contract");
  }
}
