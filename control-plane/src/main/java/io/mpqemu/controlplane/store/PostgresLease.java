package io.mpqemu.controlplane.store;

import io.mpqemu.controlplane.leadership.LeaseStore;
import io.mpqemu.controlplane.leadership.Member;
import io.mpqemu.controlplane.leadership.Term;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/**
 * The leader's lease in PostgreSQL's {@code leader_lease} row, on a connection of its own (a renewal must
 * not wait behind the store's commits). Taking and renewing are one conditional {@code UPDATE ...
 * RETURNING} on the database's clock, so two control planes racing for it are ordered by the row lock and
 * exactly one wins; a lost connection is replaced at the next call. On the same connection, each control
 * plane announces itself in {@code control_planes}, for ListControlPlanes.
 */
public final class PostgresLease implements LeaseStore {

  /** Free or expired: a new term with the next epoch. Held by the same holder, unexpired: the same term, renewed. */
  private static final String ACQUIRE_OR_RENEW = "UPDATE leader_lease SET"
      + " epoch = CASE WHEN holder = ? AND expires_at > now() THEN epoch ELSE epoch + 1 END,"
      + " acquired_at = CASE WHEN holder = ? AND expires_at > now() THEN acquired_at ELSE now() END,"
      + " holder = ?, renewed_at = now(), expires_at = now() + make_interval(secs => ?)"
      + " WHERE id = 1 AND (holder = ? OR expires_at <= now())"
      + " RETURNING holder, epoch, acquired_at, renewed_at, expires_at";
  private static final String RELEASE =
      "UPDATE leader_lease SET expires_at = now() WHERE id = 1 AND holder = ? AND epoch = ? AND expires_at > now()";
  private static final String CURRENT =
      "SELECT holder, epoch, acquired_at, renewed_at, expires_at FROM leader_lease WHERE id = 1";

  private static final String ANNOUNCE = "INSERT INTO control_planes (id, addresses, started_at, last_seen)"
      + " VALUES (?, ?, ?, now()) ON CONFLICT (id) DO UPDATE SET addresses = EXCLUDED.addresses,"
      + " started_at = EXCLUDED.started_at, last_seen = now()";
  private static final String WITHDRAW = "DELETE FROM control_planes WHERE id = ? AND started_at = ?";
  /** Every row, and now() once even when there are none (the right join's one row). */
  private static final String MEMBERS = "SELECT c.id, c.addresses, c.started_at, c.last_seen, n.now"
      + " FROM control_planes c RIGHT JOIN (SELECT now() AS now) n ON true ORDER BY c.id";

  private final PostgresTarget target;
  private Connection connection;

  public PostgresLease(PostgresTarget target) {
    this.target = target;
  }

  @Override
  public synchronized Term acquireOrRenew(String holder, Duration length) {
    return run(c -> {
      try (PreparedStatement update = c.prepareStatement(ACQUIRE_OR_RENEW)) {
        update.setString(1, holder);
        update.setString(2, holder);
        update.setString(3, holder);
        update.setDouble(4, length.toMillis() / 1000.0);
        update.setString(5, holder);
        try (ResultSet row = update.executeQuery()) {
          if (row.next()) {
            return term(row);
          }
        }
      }
      return current(c); // another holds it: who, for the standby's status
    });
  }

  @Override
  public synchronized void release(String holder, long epoch) {
    run(c -> {
      try (PreparedStatement update = c.prepareStatement(RELEASE)) {
        update.setString(1, holder);
        update.setLong(2, epoch);
        return update.executeUpdate();
      }
    });
  }

  @Override
  public synchronized Term current() {
    return run(this::current);
  }

  private Term current(Connection c) throws SQLException {
    try (PreparedStatement select = c.prepareStatement(CURRENT); ResultSet row = select.executeQuery()) {
      if (!row.next()) {
        throw new StoreException(StoreException.Kind.FAILED, target.describe() + " has no leader_lease row", null);
      }
      return term(row);
    }
  }

  @Override
  public synchronized void announce(String holder, List<String> addresses, Instant startedAt) {
    run(c -> {
      try (PreparedStatement upsert = c.prepareStatement(ANNOUNCE)) {
        upsert.setString(1, holder);
        upsert.setString(2, String.join(" ", addresses));
        upsert.setTimestamp(3, Timestamp.from(startedAt));
        return upsert.executeUpdate();
      }
    });
  }

  @Override
  public synchronized void withdraw(String holder, Instant startedAt) {
    run(c -> {
      try (PreparedStatement delete = c.prepareStatement(WITHDRAW)) {
        delete.setString(1, holder);
        delete.setTimestamp(2, Timestamp.from(startedAt));
        return delete.executeUpdate();
      }
    });
  }

  @Override
  public synchronized Members members() {
    return run(c -> {
      List<Member> all = new ArrayList<>();
      Instant now;
      try (PreparedStatement select = c.prepareStatement(MEMBERS); ResultSet rows = select.executeQuery()) {
        now = null;
        while (rows.next()) {
          now = rows.getTimestamp(5).toInstant();
          if (rows.getString(1) != null) {
            String addresses = rows.getString(2);
            all.add(new Member(rows.getString(1), addresses.isEmpty() ? List.of() : List.of(addresses.split(" ")),
                rows.getTimestamp(3).toInstant(), rows.getTimestamp(4).toInstant()));
          }
        }
      }
      return new Members(all, current(c), now);
    });
  }

  @Override
  public synchronized void close() {
    if (connection != null) {
      PostgresStore.closeQuietly(connection);
      connection = null;
    }
  }

  private interface Call<T> {
    T on(Connection connection) throws SQLException;
  }

  private <T> T run(Call<T> call) {
    if (connection == null) {
      connection = PostgresStore.connect(target, false); // autocommit: each statement its own transaction
    }
    try {
      return call.on(connection);
    } catch (SQLException e) {
      close(); // whatever broke, the next call starts on a new connection
      throw new StoreException(StoreException.Kind.UNAVAILABLE, target.describe() + " did not answer the lease: "
          + PostgresStore.oneLine(e), e);
    }
  }

  private static Term term(ResultSet row) throws SQLException {
    return new Term(row.getString(1), row.getLong(2), row.getTimestamp(3).toInstant(), row.getTimestamp(4).toInstant(),
        row.getTimestamp(5).toInstant());
  }
}
