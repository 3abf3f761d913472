package io.mpqemu.controlplane.store;

import io.mpqemu.controlplane.leadership.LeaseStore;
import java.nio.file.Path;
import java.util.Optional;

/**
 * Where the control plane keeps its state: a SQLite file (the default, in the data directory) or a
 * PostgreSQL database ({@code --store postgresql://...}). Its {@code toString} never shows a password.
 */
public sealed interface StoreTarget permits StoreTarget.Sqlite, PostgresTarget {

  /** Opens the store, bringing its schema up to date; a failure's message is one line naming the store. */
  Store open();

  /**
   * The leader's lease on this store, on a connection of its own; empty when the store admits one control
   * plane only (SQLite: one file, locked by its one writer), which then always leads.
   */
  Optional<LeaseStore> lease();

  /**
   * Calls {@code wake} (on a thread of its own) soon after another control plane recorded events, until
   * closed; nothing on a store only this control plane writes (SQLite).
   */
  AutoCloseable watchEvents(Runnable wake);

  /** The SQLite database in {@code file}. */
  record Sqlite(Path file) implements StoreTarget {

    @Override
    public Store open() {
      return SqliteStore.open(file);
    }

    @Override
    public Optional<LeaseStore> lease() {
      return Optional.empty();
    }

    @Override
    public AutoCloseable watchEvents(Runnable wake) {
      return () -> { };
    }

    @Override
    public String toString() {
      return "SQLite at " + file;
    }
  }
}
