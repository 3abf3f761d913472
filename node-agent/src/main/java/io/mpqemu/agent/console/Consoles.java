package io.mpqemu.agent.console;

import io.mpqemu.agent.state.ConsoleLog;
import io.mpqemu.agent.state.VmPaths;
import io.mpqemu.agent.vm.VmException;
import io.mpqemu.agent.vm.VmManager;
import io.mpqemu.v1.Phase;
import io.mpqemu.v1.ProcessRole;
import io.mpqemu.v1.VmEvent;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Context;
import io.vertx.core.net.NetClient;
import io.vertx.core.net.NetClientOptions;
import io.vertx.core.net.SocketAddress;
import java.nio.file.Files;
import java.time.Clock;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The node's consoles: a {@link ConsoleTap} per running VM while sessions are attached to it, and the
 * watch for each launch's ready pattern (see {@link ReadyWatches}). Agent's loop only.
 */
public final class Consoles {

  private static final Logger LOG = LoggerFactory.getLogger(Consoles.class);

  /** How much recent output each console keeps for sessions that attach. */
  public static final int HISTORY_CAPACITY = 64 * 1024;
  /** What a session gets first when it does not say. */
  public static final int DEFAULT_HISTORY = 16 * 1024;

  private static final Set<Phase> ATTACHABLE = EnumSet.of(Phase.PHASE_RUNNING, Phase.PHASE_PAUSED,
      Phase.PHASE_STOPPING);

  private final Context agent;
  private final VmManager vms;
  private final Function<String, VmPaths> paths;
  private final NetClient client;
  private final Map<String, Future<ConsoleTap>> taps = new HashMap<>();
  private final ReadyWatches ready;

  /** @param agent the agent's context, where VM state lives and where this runs */
  public Consoles(Context agent, VmManager vms, Function<String, VmPaths> paths, Clock clock) {
    this.agent = agent;
    this.vms = vms;
    this.paths = paths;
    this.client = agent.owner().createNetClient(new NetClientOptions().setConnectTimeout(3000));
    this.ready = new ReadyWatches(agent, paths, vms::guestReady, clock);
  }

  /** What the VM's lifecycle means for its console: an event of the agent's, in order. */
  public void onEvent(VmEvent e) {
    String vmId = e.getVmId();
    switch (e.getType()) {
      // the main QEMU runs, the guest not yet: the watch starts where the log ends
      case PROCESS_STARTED -> {
        if (e.getProcess().getRole() == ProcessRole.PROCESS_ROLE_MAIN) {
          watchReadiness(vmId);
        }
      }
      // what the guest wrote while no agent ran is not searched: it cannot be told from earlier launches
      case ADOPTED -> watchReadiness(vmId);
      case LAUNCH_STARTED, VM_STOPPED, VM_FAILED, LAUNCH_FAILED, LAUNCH_ABANDONED, LOST_WHILE_DETACHED, VM_DELETED -> {
        ready.stop(vmId);
        close(vmId, "the VM's console closed: " + e.getMessage());
      }
      default -> {
      }
    }
  }

  private void watchReadiness(String vmId) {
    vms.get(vmId).onSuccess(vm -> {
      if (!vm.getSpec().getReadyPattern().isEmpty() && !vm.hasGuestReadyAt()) {
        ready.start(vmId, vm.getSpec().getReadyPattern());
      }
    });
  }

  /**
   * Attaches a session to the console of a running VM.
   *
   * @param who the caller, as other sessions are told of it
   * @param historyBytes how much recent output to send first (at most {@link #HISTORY_CAPACITY})
   */
  public Future<ConsoleAttachment> attach(String vmId, ConsoleClient session, String who, boolean write, boolean force,
      int historyBytes) {
    return vms.get(vmId).recover(e -> Future.failedFuture(e instanceof VmException v && v.kind() == VmException.Kind.NOT_FOUND
        ? new ConsoleException(ConsoleException.Kind.NOT_FOUND, "no VM " + vmId + " on this node") : e))
        .compose(vm -> {
          if (!ATTACHABLE.contains(vm.getPhase())) {
            return Future.failedFuture(new ConsoleException(ConsoleException.Kind.PRECONDITION, "VM " + vmId + " is "
                + phaseName(vm.getPhase()) + ": a console attaches to a running VM (its past output: GetConsoleLog)"));
          }
          return open(vmId);
        })
        .map(tap -> tap.attach(session, who, write, force, historyBytes));
  }

  /** The agent stops: every console closes, its sessions told why; the VMs go on. */
  public void closeAll(String why) {
    ready.stopAll();
    for (String vmId : List.copyOf(taps.keySet())) {
      close(vmId, why);
    }
    client.close();
  }

  private void close(String vmId, String why) {
    Future<ConsoleTap> tap = taps.remove(vmId);
    if (tap != null) {
      tap.onSuccess(t -> t.close(why));
    }
  }

  private Future<ConsoleTap> open(String vmId) {
    Future<ConsoleTap> existing = taps.get(vmId);
    if (existing != null) {
      return existing; // opening, or open: the tap leaves the map when it closes
    }
    Promise<ConsoleTap> opened = Promise.promise();
    Future<ConsoleTap> tap = opened.future();
    taps.put(vmId, tap);
    connect(vmId, () -> taps.remove(vmId, tap)).onComplete(opened);
    tap.onFailure(e -> {
      taps.remove(vmId, tap);
      LOG.warn("vm={} no console: {}", vmId, e.getMessage());
    });
    return tap;
  }

  /**
   * Connects to the console socket, then reads the recent output from the log while the socket is
   * paused, so the history ends about where the live output begins (what the guest writes in between
   * may show twice).
   */
  private Future<ConsoleTap> connect(String vmId, Runnable whenClosed) {
    VmPaths p = paths.apply(vmId);
    return client.connect(SocketAddress.domainSocketAddress(p.ttySocket().toString()))
        .recover(e -> Future.failedFuture(Files.exists(p.ttySocket())
            ? new ConsoleException(ConsoleException.Kind.UNAVAILABLE, "the console socket of VM " + vmId
                + " does not answer (" + e.getMessage() + ")")
            : new ConsoleException(ConsoleException.Kind.PRECONDITION, "VM " + vmId + " has no console socket: it"
                + " was launched by an agent without interactive consoles; stop and start it to get one")))
        .compose(socket -> {
          socket.pause();
          return agent.executeBlocking(() -> ConsoleLog.tail(p, HISTORY_CAPACITY).data(), false)
              .onFailure(e -> socket.close())
              .map(recent -> {
                History history = new History(HISTORY_CAPACITY);
                history.append(recent);
                ConsoleTap t = new ConsoleTap(vmId, socket, history, whenClosed);
                socket.resume();
                return t;
              });
        });
  }

  private static String phaseName(Phase phase) {
    return phase.name().substring("PHASE_".length());
  }
}
