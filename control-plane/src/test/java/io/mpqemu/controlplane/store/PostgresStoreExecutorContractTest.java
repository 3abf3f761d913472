package io.mpqemu.controlplane.store;

class PostgresStoreExecutorContractTest extends StoreExecutorContract {

  @Override
  StoreEngine startEngine() throws Exception {
    return StoreEngine.postgres("executor_contract");
  }
}
