package io.mpqemu.controlplane;

import io.mpqemu.access.AccessSettings;
import io.mpqemu.controlplane.events.Retention;
import io.mpqemu.controlplane.leadership.Election;
import io.mpqemu.controlplane.store.StoreTarget;
import io.mpqemu.controlplane.vm.Quota;
import io.mpqemu.net.Endpoint;
import io.mpqemu.spec.NodeLimits;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/**
 * What the control plane is told at start-up.
 *
 * @param dataDir holds the SQLite database
 * @param listen gRPC addresses (unix:/path or tcp:loopback:port)
 * @param notReadyAfter a node whose heartbeats stop for this long becomes NOT_READY
 * @param lostAfter ... and LOST after this long
 * @param reconcileInterval how often intents are compared with what agents report
 * @param callDeadline the deadline of each call to an agent
 * @param limits the validation limits every VM must meet, whatever node it lands on
 * @param httpListen the address of the HTTP endpoints (health, metrics, SSE events, read-only JSON):
 *     unix:/path or tcp:loopback:port; "" serves no HTTP
 * @param access who may call the API (groups, plaintext TCP, HTTP host names, streams per caller)
 * @param quota what each identity may create
 * @param store where intents and the event log live: SQLite in {@code dataDir} by default, or PostgreSQL
 * @param retention how many and how old events the log keeps
 * @param election this control plane's id and lease timing, used when the store is shared (PostgreSQL)
 */
public record ControlPlaneConfig(
    Path dataDir,
    List<String> listen,
    Duration notReadyAfter,
    Duration lostAfter,
    Duration reconcileInterval,
    Duration callDeadline,
    Duration restartBackoffMax,
    NodeLimits limits,
    String httpListen,
    AccessSettings access,
    Quota quota,
    StoreTarget store,
    Retention retention,
    Election election) {

  /** Where the API listens unless told otherwise, and where the CLI looks for it. */
  public static final String DEFAULT_LISTEN = "unix:/run/mpqemu/control-plane.sock";

  public ControlPlaneConfig {
    listen = List.copyOf(listen);
    store = store == null ? new StoreTarget.Sqlite(dataDir.resolve("control-plane.db")) : store;
    retention = retention == null ? Retention.DEFAULT : retention;
    election = election == null ? Election.defaults() : election;
  }

  /** With the store in the data directory (SQLite) and the default event retention. */
  public ControlPlaneConfig(Path dataDir, List<String> listen, Duration notReadyAfter, Duration lostAfter,
      Duration reconcileInterval, Duration callDeadline, Duration restartBackoffMax, NodeLimits limits,
      String httpListen, AccessSettings access, Quota quota) {
    this(dataDir, listen, notReadyAfter, lostAfter, reconcileInterval, callDeadline, restartBackoffMax, limits, httpListen,
        access, quota, null, null, null);
  }

  /** Without HTTP endpoints. */
  public ControlPlaneConfig(Path dataDir, List<String> listen, Duration notReadyAfter, Duration lostAfter,
      Duration reconcileInterval, Duration callDeadline, Duration restartBackoffMax, NodeLimits limits) {
    this(dataDir, listen, notReadyAfter, lostAfter, reconcileInterval, callDeadline, restartBackoffMax, limits, "");
  }

  /** With the default access settings and no quota. */
  public ControlPlaneConfig(Path dataDir, List<String> listen, Duration notReadyAfter, Duration lostAfter,
      Duration reconcileInterval, Duration callDeadline, Duration restartBackoffMax, NodeLimits limits, String httpListen) {
    this(dataDir, listen, notReadyAfter, lostAfter, reconcileInterval, callDeadline, restartBackoffMax, limits, httpListen,
        AccessSettings.defaults(), Quota.NONE);
  }

  /** The same config serving HTTP on {@code address} ("" for none). */
  public ControlPlaneConfig withHttpListen(String address) {
    return new ControlPlaneConfig(dataDir, listen, notReadyAfter, lostAfter, reconcileInterval, callDeadline,
        restartBackoffMax, limits, address, access, quota, store, retention, election);
  }

  /** The same config with these access settings. */
  public ControlPlaneConfig withAccess(AccessSettings settings) {
    return new ControlPlaneConfig(dataDir, listen, notReadyAfter, lostAfter, reconcileInterval, callDeadline,
        restartBackoffMax, limits, httpListen, settings, quota, store, retention, election);
  }

  /** The same config with this quota per identity. */
  public ControlPlaneConfig withQuota(Quota perIdentity) {
    return new ControlPlaneConfig(dataDir, listen, notReadyAfter, lostAfter, reconcileInterval, callDeadline,
        restartBackoffMax, limits, httpListen, access, perIdentity, store, retention, election);
  }

  /** The same config keeping its state in {@code target}. */
  public ControlPlaneConfig withStore(StoreTarget target) {
    return new ControlPlaneConfig(dataDir, listen, notReadyAfter, lostAfter, reconcileInterval, callDeadline,
        restartBackoffMax, limits, httpListen, access, quota, target, retention, election);
  }

  /** The same config keeping events by this retention. */
  public ControlPlaneConfig withRetention(Retention events) {
    return new ControlPlaneConfig(dataDir, listen, notReadyAfter, lostAfter, reconcileInterval, callDeadline,
        restartBackoffMax, limits, httpListen, access, quota, store, events, election);
  }

  /** The same config electing the leader under this id and lease. */
  public ControlPlaneConfig withElection(Election settings) {
    return new ControlPlaneConfig(dataDir, listen, notReadyAfter, lostAfter, reconcileInterval, callDeadline,
        restartBackoffMax, limits, httpListen, access, quota, store, retention, settings);
  }

  /**
   * Checks the listen addresses at start-up (a UNIX socket path longer than the kernel allows
   * included) rather than when they are bound; the message says what to fix.
   */
  public ControlPlaneConfig validated() {
    if (listen.isEmpty()) {
      throw new IllegalArgumentException("at least one listen address is needed (unix:/path or tcp:127.0.0.1:port)");
    }
    listen.forEach(address -> Endpoint.parse("--listen", address));
    if (!httpListen.isEmpty()) {
      Endpoint.parse("--http-listen", httpListen);
    }
    return this;
  }

  public static ControlPlaneConfig defaults(Path dataDir) {
    return new ControlPlaneConfig(dataDir, List.of(DEFAULT_LISTEN), Duration.ofSeconds(10), Duration.ofSeconds(30),
        Duration.ofSeconds(10), Duration.ofSeconds(120), Duration.ofSeconds(60), NodeLimits.defaults(), "",
        AccessSettings.defaults(), Quota.NONE);
  }

  /** The SQLite file in the data directory (the default store). */
  public Path database() {
    return dataDir.resolve("control-plane.db");
  }
}
