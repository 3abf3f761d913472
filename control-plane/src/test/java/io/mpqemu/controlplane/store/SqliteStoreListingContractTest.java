package io.mpqemu.controlplane.store;

class SqliteStoreListingContractTest extends StoreListingContract {

  @Override
  StoreEngine startEngine() throws Exception {
    return StoreEngine.sqlite();
  }
}
