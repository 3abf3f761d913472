package io.mpqemu.controlplane.store;

import io.mpqemu.errors.Failures;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import org.postgresql.PGConnection;
import org.postgresql.PGNotification;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Tells a control plane, within milliseconds, that another one recorded events: a thread of its own
 * {@code LISTEN}s on {@link PostgresStore#CHANNEL} over a connection of its own and calls {@code wake} for
 * each burst of notifications. A wake-up only: the caller then reads from its last seq, so a notification
 * lost (while reconnecting, say) loses nothing but time until the caller's next read. A lost connection is
 * replaced after a second, with one log line for the outage and one for its end.
 */
final class PostgresEventWatch implements AutoCloseable {

  private static final Logger LOG = LoggerFactory.getLogger(PostgresEventWatch.class);
  private static final int WAIT_MILLIS = 1000;

  private final PostgresTarget target;
  private final Runnable wake;
  private final Thread thread;
  private volatile boolean closed;
  private volatile Connection connection;

  PostgresEventWatch(PostgresTarget target, Runnable wake) {
    this.target = target;
    this.wake = wake;
    this.thread = new Thread(this::run, "mpqemu-event-watch");
    thread.setDaemon(true);
    thread.start();
  }

  private void run() {
    boolean failing = false;
    while (!closed) {
      try {
        if (connection == null) {
          Connection c = PostgresStore.connect(target, false);
          try (Statement listen = c.createStatement()) {
            listen.execute("LISTEN " + PostgresStore.CHANNEL);
          }
          connection = c;
          if (failing) {
            failing = false;
            LOG.info("event watch: listening on {} again", target.describe());
          }
          wake.run(); // whatever was recorded while it was not listening
        }
        PGNotification[] got = connection.unwrap(PGConnection.class).getNotifications(WAIT_MILLIS);
        if (got != null && got.length > 0) {
          wake.run();
        }
      } catch (SQLException | RuntimeException e) {
        if (closed) {
          return;
        }
        if (!failing) {
          failing = true;
          LOG.warn("event watch: cannot listen on {} ({}); standbys read new events every second meanwhile",
              target.describe(), Failures.describe(e));
        }
        dropConnection();
        try {
          Thread.sleep(1000);
        } catch (InterruptedException interrupted) {
          return;
        }
      }
    }
  }

  private void dropConnection() {
    Connection c = connection;
    connection = null;
    if (c != null) {
      PostgresStore.closeQuietly(c);
    }
  }

  @Override
  public void close() {
    closed = true;
    thread.interrupt();
    dropConnection();
  }
}
