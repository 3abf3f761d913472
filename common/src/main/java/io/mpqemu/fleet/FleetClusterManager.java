package io.mpqemu.fleet;

import io.vertx.core.Completable;
import io.vertx.core.Vertx;
import io.vertx.core.spi.cluster.RegistrationInfo;
import io.vertx.core.spi.cluster.RegistrationListener;
import io.vertx.ext.cluster.infinispan.InfinispanClusterManager;
import java.util.ArrayList;
import java.util.List;
import org.infinispan.manager.DefaultCacheManager;
import org.infinispan.notifications.Listener;
import org.infinispan.notifications.cachemanagerlistener.annotation.Merged;
import org.infinispan.notifications.cachemanagerlistener.annotation.ViewChanged;
import org.infinispan.notifications.cachemanagerlistener.event.ViewChangedEvent;
import org.infinispan.remoting.transport.Address;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Vert.x's Infinispan cluster manager over our own cache manager ({@link Membership}): started when
 * Vert.x joins, stopped when it leaves (vertx-infinispan leaves a cache manager it was handed
 * running), every change of the member list logged (Hazelcast, the cluster manager before, logged them
 * itself), and the bus's subscriber lists repaired every {@link #REPAIR_PERIOD_MILLIS} ({@link BusRegistrations}).
 */
final class FleetClusterManager extends InfinispanClusterManager {

  private static final Logger LOG = LoggerFactory.getLogger("io.mpqemu.fleet.Membership");

  /**
   * How often a member checks the bus's subscriber lists: a lost update is repaired on the second pass that
   * sees it, well within the 3 s between an agent's heartbeats.
   */
  static final long REPAIR_PERIOD_MILLIS = 1000;

  private final DefaultCacheManager caches;
  private final String cluster;
  private final BusRegistrations registrations = new BusRegistrations(new BusRegistrations.Shared() {
    @Override
    public void read(String address, Completable<List<RegistrationInfo>> done) {
      FleetClusterManager.super.getRegistrations(address, done);
    }

    @Override
    public void add(String address, RegistrationInfo registration, Completable<Void> done) {
      FleetClusterManager.super.addRegistration(address, registration, done);
    }

    @Override
    public void remove(String address, RegistrationInfo registration, Completable<Void> done) {
      FleetClusterManager.super.removeRegistration(address, registration, done);
    }
  });
  private Vertx vertx;
  private long repairTimer = -1;

  FleetClusterManager(DefaultCacheManager caches, String cluster) {
    super(caches);
    this.caches = caches;
    this.cluster = cluster;
  }

  @Override
  public void init(Vertx vertx) {
    this.vertx = vertx;
    super.init(vertx);
  }

  @Override
  public synchronized void registrationListener(RegistrationListener selector) {
    registrations.selector(selector);
    super.registrationListener(registrations);
  }

  @Override
  public void getRegistrations(String address, Completable<List<RegistrationInfo>> promise) {
    super.getRegistrations(address, (found, failure) -> {
      if (failure == null) {
        registrations.read(address, found);
      }
      promise.complete(found, failure);
    });
  }

  @Override
  public void addRegistration(String address, RegistrationInfo registration, Completable<Void> promise) {
    super.addRegistration(address, registration, (v, failure) -> {
      if (failure == null) {
        registrations.added(address, registration);
      }
      promise.complete(v, failure);
    });
  }

  @Override
  public void removeRegistration(String address, RegistrationInfo registration, Completable<Void> promise) {
    registrations.removing(address, registration);
    super.removeRegistration(address, registration, promise);
  }

  /** The subscriber lists' repair (the tests reach into it to break and watch it). */
  BusRegistrations busRegistrations() {
    return registrations;
  }

  @Override
  public void join(Completable<Void> promise) {
    vertx.<Void>executeBlocking(() -> {
      caches.addListener(new ViewLogger());
      caches.addListener(new Republisher());
      caches.start();
      LOG.info("cluster membership: joined '{}' as {}; members {}", cluster, caches.getAddress(), caches.getMembers());
      return null;
    }, false).onComplete((v, e) -> {
      if (e != null) {
        stopQuietly();
        promise.fail(e);
      } else {
        super.join((v2, e2) -> {
          if (e2 == null) {
            repairTimer = vertx.setPeriodic(REPAIR_PERIOD_MILLIS, id -> registrations.repair());
          }
          promise.complete(v2, e2);
        });
      }
    });
  }

  @Override
  public void leave(Completable<Void> promise) {
    vertx.cancelTimer(repairTimer);
    super.leave((v, e) -> vertx.<Void>executeBlocking(() -> {
      stopQuietly();
      return null;
    }, false).onComplete((v2, e2) -> promise.complete(null, e != null ? e : e2)));
  }

  private void stopQuietly() {
    try {
      caches.stop();
    } catch (RuntimeException e) {
      LOG.warn("cluster membership: stopping: {}", e.getMessage());
    }
  }

  /** After a merge, this member's node record again, in case the other half's copy of the map won. */
  @Listener(sync = false)
  public final class Republisher {
    @Merged
    public void merged(ViewChangedEvent e) {
      io.vertx.core.spi.cluster.NodeInfo mine = getNodeInfo();
      if (mine != null && isActive()) {
        setNodeInfo(mine, (v, failure) -> {
          if (failure != null) {
            LOG.warn("cluster membership: could not publish this member's bus address again after a merge: {}",
                failure.getMessage());
          }
        });
      }
    }
  }

  /** One line per view: who joined, who left (a crash, a cut link, a shutdown), and the members now. */
  @Listener(sync = false)
  public static final class ViewLogger {
    @ViewChanged
    @Merged
    public void viewChanged(ViewChangedEvent e) {
      List<Address> joined = new ArrayList<>(e.getNewMembers());
      joined.removeAll(e.getOldMembers());
      List<Address> left = new ArrayList<>(e.getOldMembers());
      left.removeAll(e.getNewMembers());
      LOG.info("cluster membership: {}{}{}members now {}", e.isMergeView() ? "merged a split; " : "",
          joined.isEmpty() ? "" : "joined " + joined + "; ", left.isEmpty() ? "" : "left " + left + "; ", e.getNewMembers());
    }
  }
}
