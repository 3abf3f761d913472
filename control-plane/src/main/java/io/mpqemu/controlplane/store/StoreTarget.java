package io.mpqemu.controlplane.store;

import java.nio.file.Path;

/**
 * Where the control plane keeps its state: a SQLite file (the default, in the data directory) or a
 * PostgreSQL database ({@code --store postgresql://...}). Its {@code toString} never shows a password.
 */
public sealed interface StoreTarget permits StoreTarget.Sqlite, PostgresTarget {

  /** Opens the store, bringing its schema up to date; a failure's message is one line naming the store. */
  Store open();

  /** The SQLite database in {@code file}. */
  record Sqlite(Path file) implements StoreTarget {

    @Override
    public Store open() {
      return SqliteStore.open(file);
    }

    @Override
    public String toString() {
      return "SQLite at " + file;
    }
  }
}
