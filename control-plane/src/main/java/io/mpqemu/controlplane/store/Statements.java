package io.mpqemu.controlplane.store;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.util.HashMap;
import java.util.Map;

/** A store's connection and its prepared statements, each prepared once and reused while the connection lives. */
final class Statements implements AutoCloseable {

  private final Connection connection;
  private final Map<String, PreparedStatement> cache = new HashMap<>();

  Statements(Connection connection) {
    this.connection = connection;
  }

  Connection connection() {
    return connection;
  }

  /** A cached statement for fixed SQL text. */
  PreparedStatement prepare(String sql) throws SQLException {
    PreparedStatement statement = cache.get(sql);
    if (statement == null) {
      statement = connection.prepareStatement(sql);
      cache.put(sql, statement);
    }
    return statement;
  }

  /** A statement for SQL text that varies (by the number of its parameters); the caller closes it. */
  PreparedStatement prepareOnce(String sql) throws SQLException {
    return connection.prepareStatement(sql);
  }

  void execute(String sql) throws SQLException {
    prepare(sql).execute();
  }

  @Override
  public void close() throws SQLException {
    SQLException failure = null;
    for (PreparedStatement statement : cache.values()) {
      try {
        statement.close();
      } catch (SQLException e) {
        failure = e;
      }
    }
    cache.clear();
    try {
      connection.close();
    } catch (SQLException e) {
      failure = e;
    }
    if (failure != null) {
      throw failure;
    }
  }
}
