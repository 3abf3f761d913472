package io.mpqemu.fleet;

import io.vertx.core.Completable;
import io.vertx.core.spi.cluster.RegistrationInfo;
import io.vertx.core.spi.cluster.RegistrationListener;
import io.vertx.core.spi.cluster.RegistrationUpdateEvent;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Anti-entropy for the event bus's subscriber lists. A member learns who listens on an address from
 * Infinispan's clustered listeners, which can miss an update while the membership changes (a member
 * joining as another leaves: Infinispan documents the gap), and a healed split keeps one half's list per
 * address. A member that missed an update never sends to the new listener (seen: an agent whose
 * heartbeats never reached a control plane that joined just after a split healed). So on each
 * {@link #repair} pass this member compares the shared map with what it holds, and a difference seen on
 * two passes in a row (not an update still on its way) is repaired: its own registrations the map lost are
 * put back, and Vert.x's node selector gets an address's subscribers as they are now.
 *
 * <p>It stands between the cluster manager and Vert.x's node selector, seeing every list handed to it.
 */
final class BusRegistrations implements RegistrationListener {

  private static final Logger LOG = LoggerFactory.getLogger("io.mpqemu.fleet.Membership");

  /** The shared map, as the cluster manager reads and writes it. */
  interface Shared {
    void read(String address, Completable<List<RegistrationInfo>> done);

    void add(String address, RegistrationInfo registration, Completable<Void> done);

    void remove(String address, RegistrationInfo registration, Completable<Void> done);
  }

  private final Shared shared;
  private volatile RegistrationListener selector = new RegistrationListener() {};
  /** This member's own registrations, by address, once the map has them. */
  private final Map<String, Set<RegistrationInfo>> own = new ConcurrentHashMap<>();
  /** What the selector last got for each address it sends to. */
  private final Map<String, Set<RegistrationInfo>> handed = new ConcurrentHashMap<>();
  /** Differences seen by the last pass, to be repaired if the next sees them again. */
  private final Set<String> lostOwn = ConcurrentHashMap.newKeySet();
  private final Set<String> staleHanded = ConcurrentHashMap.newKeySet();

  BusRegistrations(Shared shared) {
    this.shared = shared;
  }

  /** Vert.x's node selector, which this passes every update on to. */
  void selector(RegistrationListener selector) {
    this.selector = selector;
  }

  @Override
  public boolean wantsUpdatesFor(String address) {
    return selector.wantsUpdatesFor(address);
  }

  @Override
  public void registrationsUpdated(RegistrationUpdateEvent event) {
    handed.put(event.address(), Set.copyOf(event.registrations()));
    selector.registrationsUpdated(event);
  }

  @Override
  public void registrationsLost() {
    selector.registrationsLost();
  }

  /** The selector asked for an address's subscribers (it is about to send there) and got {@code found}. */
  void read(String address, List<RegistrationInfo> found) {
    handed.put(address, Set.copyOf(found));
  }

  /** The map now holds {@code registration}, one of this member's own. */
  void added(String address, RegistrationInfo registration) {
    if (!registration.localOnly()) {
      own.computeIfAbsent(address, a -> ConcurrentHashMap.newKeySet()).add(registration);
    }
  }

  /** This member withdraws {@code registration} (before the map is told). */
  void removing(String address, RegistrationInfo registration) {
    own.computeIfPresent(address, (a, set) -> {
      set.remove(registration);
      return set.isEmpty() ? null : set;
    });
  }

  /** One pass: compares, and repairs what the pass before found different too. */
  void repair() {
    for (String address : List.copyOf(own.keySet())) {
      shared.read(address, (now, failure) -> {
        if (failure == null) {
          putBackOwn(address, now);
        }
      });
    }
    for (String address : List.copyOf(handed.keySet())) {
      if (!selector.wantsUpdatesFor(address)) {
        continue; // it sends there no more; it asks again (and this hears of it) if it does
      }
      shared.read(address, (now, failure) -> {
        if (failure == null) {
          refreshHanded(address, now);
        }
      });
    }
  }

  private void putBackOwn(String address, List<RegistrationInfo> now) {
    Set<RegistrationInfo> missing = new HashSet<>(own.getOrDefault(address, Set.of()));
    missing.removeAll(now);
    if (missing.isEmpty()) {
      lostOwn.remove(address);
    } else if (lostOwn.add(address)) {
      return; // seen once: perhaps a write still on its way; the next pass decides
    } else {
      lostOwn.remove(address);
      LOG.warn("event bus: the cluster's map had lost {} of this member's subscriptions to {}; put back", missing.size(),
          address);
      for (RegistrationInfo registration : missing) {
        shared.add(address, registration, (v, failure) -> {
          if (failure == null && !own.getOrDefault(address, Set.of()).contains(registration)) {
            shared.remove(address, registration, (v2, f2) -> {}); // withdrawn meanwhile: withdraw it again
          }
        });
      }
    }
  }

  private void refreshHanded(String address, List<RegistrationInfo> now) {
    Set<RegistrationInfo> fresh = Set.copyOf(now);
    if (fresh.equals(handed.get(address))) {
      staleHanded.remove(address);
    } else if (staleHanded.add(address)) {
      return; // seen once: perhaps the update is on its way; the next pass decides
    } else {
      staleHanded.remove(address);
      LOG.warn("event bus: this member had missed a change of the subscribers of {}; sends to {} member(s) now",
          address, fresh.stream().map(RegistrationInfo::nodeId).distinct().count());
      registrationsUpdated(new RegistrationUpdateEvent(address, now));
    }
  }
}
