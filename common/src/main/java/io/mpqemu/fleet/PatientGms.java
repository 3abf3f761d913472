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
 * JGroups' group membership, with one change to how a member joins. A member restarted while the others
 * still count its previous run as their coordinator (a crashed host restarted within the member timeout)
 * hears from members but from no coordinator; JGroups then takes everyone for a fellow starter and, if its
 * own address sorts first, founds a cluster of its own, which only a merge rejoins seconds later. A control
 * plane in that state can take the leader's lease while no agent hears it (seen in 4 of 40 restarts in
 * HaFailoverBenchmark). Here a joiner that hears from a member already in a view waits and asks again
 * until that cluster, having noticed its coordinator's death, has a new one to let it in.
 */
final class PatientGms extends GMS {

  private static final Logger LOG = LoggerFactory.getLogger("io.mpqemu.fleet.Membership");
  /** Between two rounds of discovery when the cluster answered without a coordinator. */
  private static final long RETRY_MILLIS = 200;

  PatientGms() {
    setId(ClassConfigurator.getProtocolId(GMS.class)); // to the other members it is GMS, headers and all
    impls.put(CLIENT, new Joiner(this));
  }

  private static final class Joiner extends ClientGmsImpl {
    private boolean told;

    Joiner(GMS gms) {
      super(gms);
    }

    @Override
    protected boolean firstOfAllClients(Address joiner, Responses responses) {
      for (PingData answer : responses) {
        if (answer.isServer()) {
          if (!told) {
            told = true;
            LOG.info("cluster membership: members answered but no coordinator (the one they know may be this host's"
                + " previous run, not yet found dead): waiting to be let into their cluster");
          }
          try {
            Thread.sleep(RETRY_MILLIS);
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
          }
          return false; // JGroups asks again, up to max_join_attempts
        }
      }
      return super.firstOfAllClients(joiner, responses);
    }
  }
}
