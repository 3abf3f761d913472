package io.mpqemu.fleet;

import org.jgroups.Address;
import org.jgroups.conf.ClassConfigurator;
import org.jgroups.protocols.PingData;
import org.jgroups.protocols.pbcast.ClientGmsImpl;
import org.jgroups.protocols.pbcast.GMS;
import org.jgroups.util.Responses;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * JGroups' group membership, with one change to how a member joins: it founds a cluster of its own only
 * when it must. A member restarted while the others still count its previous run as their coordinator (a
 * crashed host restarted within the member timeout) hears from members but from no coordinator, or, while
 * their connections to its previous run are torn down, from nobody at all; JGroups then founds a cluster
 * of one (if the member's address sorts first), which only a merge rejoins seconds later. A control plane
 * in that state can take the leader's lease while no agent hears it (4 of 40 restarts in
 * HaFailoverBenchmark). Here a joiner that hears from a member already in a cluster asks again until that
 * cluster, having found its coordinator dead, has a new one to let it in; and one that hears from nobody
 * asks three rounds before it founds the cluster alone (the first member to start waits those 6 s once).
 */
final class PatientGms extends GMS {

  private static final Logger LOG = LoggerFactory.getLogger("io.mpqemu.fleet.Membership");
  /** Between two rounds of discovery when the cluster answered without a coordinator. */
  private static final long RETRY_MILLIS = 200;
  /** Rounds of discovery nobody else answers before a member founds the cluster alone (the first one to start). */
  private static final int LONELY_ROUNDS = 3;

  PatientGms() {
    setId(ClassConfigurator.getProtocolId(GMS.class)); // to the other members it is GMS, headers and all
    impls.put(CLIENT, new Joiner(this));
  }

  private static final class Joiner extends ClientGmsImpl {
    private boolean told;
    private int lonelyRounds;

    Joiner(GMS gms) {
      super(gms);
    }

    @Override
    protected boolean firstOfAllClients(Address joiner, Responses responses) {
      boolean others = false;
      for (PingData answer : responses) {
        if (answer.isServer()) {
          if (!told) {
            told = true;
            LOG.info("cluster membership: members answered but no coordinator (the one they know may be this host's"
                + " previous run, not yet found dead): waiting to be let into their cluster");
          }
          pause();
          return false; // JGroups asks again, up to max_join_attempts
        }
        others |= !joiner.equals(answer.getAddress());
      }
      if (!others && ++lonelyRounds < LONELY_ROUNDS) {
        pause(); // nobody else answered this round: ask again before founding a cluster of one
        return false;
      }
      LOG.info("cluster membership: founding the cluster; discovery answers: {}", responses);
      return super.firstOfAllClients(joiner, responses);
    }

    private static void pause() {
      try {
        Thread.sleep(RETRY_MILLIS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }
}
