package io.mpqemu.agent.vm;

import io.mpqemu.v1.Phase;
import java.util.EnumSet;
import java.util.Set;

/**
 * The state of one VM on this node and the only ways it changes. The reported phase (with its reason
 * and message) goes with what the supervisor is doing to the VM's processes ({@link Activity}), what
 * the guest said about its end ({@link GuestEnd}) and where the VM's record is ({@link Presence}).
 * Each transition checks the state it starts from: an illegal one is a bug and throws
 * {@link IllegalStateException}.
 */
final class Lifecycle {

  /** What the supervisor is doing to the VM's processes. */
  enum Activity {
    IDLE,
    /** Running the launch steps; a process exit aborts the launch. */
    LAUNCHING,
    /** A stop was asked for: process exits are expected. */
    STOPPING,
    /** Undoing a failed launch, or ending the VM after a process exited on its own. */
    TEARING_DOWN
  }

  /** What the guest told QMP before its main QEMU ended; a panic outranks a shutdown. */
  enum GuestEnd { NONE, SHUT_DOWN, PANICKED }

  /** Where the VM's record is: none yet, in its state directory, or removed with the directory. */
  enum Presence { NEW, RECORDED, FORGOTTEN }

  private static final Set<Phase> ACTIVE =
      EnumSet.of(Phase.PHASE_LAUNCHING, Phase.PHASE_RUNNING, Phase.PHASE_PAUSED, Phase.PHASE_STOPPING);
  private static final Set<Phase> UP = EnumSet.of(Phase.PHASE_RUNNING, Phase.PHASE_PAUSED);
  private static final Set<Phase> ENDED = EnumSet.of(Phase.PHASE_STOPPED, Phase.PHASE_FAILED);

  private Phase phase = Phase.PHASE_STOPPED;
  private String reason = "";
  private String message = "";
  private Activity activity = Activity.IDLE;
  private GuestEnd guest = GuestEnd.NONE;
  private Presence presence = Presence.NEW;
  private boolean launchComplete;
  private boolean detached;

  Phase phase() {
    return phase;
  }

  String reason() {
    return reason;
  }

  String message() {
    return message;
  }

  Activity activity() {
    return activity;
  }

  GuestEnd guest() {
    return guest;
  }

  Presence presence() {
    return presence;
  }

  /** False from the first launch step until the guest runs: a restarted agent undoes such a launch. */
  boolean launchComplete() {
    return launchComplete;
  }

  /** The agent let go of the VM: no more events, writes or commands. */
  boolean detached() {
    return detached;
  }

  boolean forgotten() {
    return presence == Presence.FORGOTTEN;
  }

  /** Has processes, or is about to: launching, running, paused or stopping. */
  boolean isActive() {
    return ACTIVE.contains(phase);
  }

  /** Whether the record may be written: its directory exists and the agent still owns the VM. */
  boolean mayRecord() {
    return presence == Presence.RECORDED && !detached;
  }

  // ---------------------------------------------------------------- launch

  /** STOPPED or FAILED, idle: LAUNCHING; what the guest said last time is forgotten. */
  void beginLaunch() {
    require("begin a launch", ENDED.contains(phase) && activity == Activity.IDLE);
    set(Phase.PHASE_LAUNCHING, "Launching", "");
    activity = Activity.LAUNCHING;
    guest = GuestEnd.NONE;
    launchComplete = false;
  }

  /** The state directory exists: from now on the record is written. */
  void recorded() {
    require("record itself", presence != Presence.FORGOTTEN);
    presence = Presence.RECORDED;
  }

  /** The guest runs: RUNNING, and the record says a restarted agent adopts the VM. */
  void launched() {
    require("complete a launch", phase == Phase.PHASE_LAUNCHING && activity == Activity.LAUNCHING);
    set(Phase.PHASE_RUNNING, "Running", "");
    activity = Activity.IDLE;
    launchComplete = true;
  }

  /** A launch step failed: its processes are being killed. */
  void launchFailing() {
    require("undo a launch", phase == Phase.PHASE_LAUNCHING && activity == Activity.LAUNCHING);
    activity = Activity.TEARING_DOWN;
  }

  /** The failed launch is undone. */
  void launchFailed(String why) {
    require("fail a launch", phase == Phase.PHASE_LAUNCHING && activity == Activity.TEARING_DOWN);
    set(Phase.PHASE_FAILED, "LaunchFailed", why);
    activity = Activity.IDLE;
  }

  // ---------------------------------------------------------------- running

  /** The guest's CPUs stopped (QMP STOP) while nothing else goes on: PAUSED. */
  void paused() {
    require("pause", phase == Phase.PHASE_RUNNING && activity == Activity.IDLE);
    phase = Phase.PHASE_PAUSED;
  }

  /** The guest's CPUs run again (QMP RESUME), even while the VM is being torn down. */
  void resumed() {
    require("resume", phase == Phase.PHASE_PAUSED && activity != Activity.STOPPING);
    phase = Phase.PHASE_RUNNING;
  }

  void guestShutDown() {
    if (guest == GuestEnd.NONE) {
      guest = GuestEnd.SHUT_DOWN;
    }
  }

  void guestPanicked() {
    guest = GuestEnd.PANICKED;
  }

  // ---------------------------------------------------------------- ending

  /**
   * A stop begins: STOPPING. Also from a teardown that a process exit asked for and that waits behind
   * this stop in the command queue: the stop then ends the VM first.
   */
  void beginStop() {
    require("begin a stop", UP.contains(phase) && (activity == Activity.IDLE || activity == Activity.TEARING_DOWN));
    phase = Phase.PHASE_STOPPING;
    activity = Activity.STOPPING;
  }

  /** A process exited on its own, or died while no agent watched: the VM is being ended. */
  void beginTeardown() {
    require("begin a teardown", (UP.contains(phase) || phase == Phase.PHASE_STOPPING) && activity == Activity.IDLE);
    activity = Activity.TEARING_DOWN;
  }

  /** The end of a stop or a teardown: STOPPED or FAILED, idle. */
  void finish(Phase end, String why, String msg) {
    require("finish as " + end, ENDED.contains(end) && (UP.contains(phase) || phase == Phase.PHASE_STOPPING)
        && (activity == Activity.STOPPING || activity == Activity.TEARING_DOWN));
    set(end, why, msg);
    activity = Activity.IDLE;
  }

  /** The record and the state directory are removed; the agent no longer knows the VM. */
  void forget() {
    require("forget the VM", presence != Presence.FORGOTTEN);
    presence = Presence.FORGOTTEN;
  }

  /** A deleted VM: from STOPPED or FAILED once it is forgotten. */
  void deleted() {
    require("delete", ENDED.contains(phase) && activity == Activity.IDLE && presence == Presence.FORGOTTEN);
    phase = Phase.PHASE_DELETED;
    reason = "Deleted";
  }

  /** The agent stops: it lets go of the VM, which keeps running. */
  void detach() {
    detached = true;
  }

  // ---------------------------------------------------------------- adoption

  /** The state a previous agent recorded; only a supervisor that has done nothing yet takes it. */
  void restore(Phase recordedPhase, String recordedReason, String recordedMessage, boolean recordedLaunchComplete) {
    require("restore a record", presence == Presence.NEW && activity == Activity.IDLE && !launchComplete);
    set(recordedPhase, recordedReason, recordedMessage);
    launchComplete = recordedLaunchComplete;
    presence = Presence.RECORDED;
  }

  /** QMP answered after the restart: RUNNING or PAUSED as QEMU says. */
  void adopted(boolean running) {
    require("adopt", (UP.contains(phase) || phase == Phase.PHASE_STOPPING) && activity != Activity.STOPPING);
    phase = running ? Phase.PHASE_RUNNING : Phase.PHASE_PAUSED;
  }

  /** QMP did not answer after the restart: RUNNING while the main QEMU lives, FAILED otherwise. */
  void adoptedWithoutQmp(boolean mainAlive) {
    require("adopt", (UP.contains(phase) || phase == Phase.PHASE_STOPPING) && activity != Activity.STOPPING);
    phase = mainAlive ? Phase.PHASE_RUNNING : Phase.PHASE_FAILED;
  }

  /** Every process of an active VM ended while no agent ran. */
  void foundNothingRunning() {
    require("find nothing running", isActive() && activity == Activity.IDLE && launchComplete);
    phase = Phase.PHASE_FAILED;
    reason = "ExitedWhileDetached";
  }

  /** A launch that an agent restart interrupted was undone. */
  void abandoned(String why) {
    require("abandon a launch", !launchComplete && activity == Activity.IDLE);
    set(Phase.PHASE_FAILED, "LaunchAbandoned", why);
  }

  // ----------------------------------------------------------------

  private void set(Phase p, String why, String msg) {
    phase = p;
    reason = why;
    message = msg;
  }

  private void require(String transition, boolean allowed) {
    if (!allowed) {
      throw new IllegalStateException("illegal transition: cannot " + transition + " from " + this);
    }
  }

  @Override
  public String toString() {
    return phase + "/" + activity + "/" + presence + (launchComplete ? "/launched" : "") + (detached ? "/detached" : "");
  }
}
