package io.mpqemu.controlplane.store;

class PostgresStoreListingContractTest extends StoreListingContract {

  @Override
  StoreEngine startEngine() throws Exception {
    return StoreEngine.postgres("listing_contract");
  }
}
