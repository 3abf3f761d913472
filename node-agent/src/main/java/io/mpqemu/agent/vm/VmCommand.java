package io.mpqemu.agent.vm;

import io.mpqemu.agent.images.OpenImages;
import io.mpqemu.agent.process.ExitStatus;
import io.mpqemu.agent.state.VmRecord;
import io.mpqemu.v1.AgentVm;
import io.mpqemu.v1.Phase;
import io.mpqemu.v1.VmSpec;
import io.mpqemu.wire.Phases;
import java.nio.file.Path;
import java.time.Duration;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Everything a VM's supervisor can be asked to do: a closed set, handled one at a time in arrival
 * order. Each command says in which phases it may run (Firecracker's VmmAction); in any other it is
 * refused. No command runs once the agent let go of the VM or forgot it.
 *
 * @param <T> what the command answers
 */
sealed interface VmCommand<T> {

  Set<Phase> ANY = EnumSet.allOf(Phase.class);
  Set<Phase> ENDED = EnumSet.of(Phase.PHASE_STOPPED, Phase.PHASE_FAILED);
  Set<Phase> UP = EnumSet.of(Phase.PHASE_RUNNING, Phase.PHASE_PAUSED);

  /** The phases in which this command runs. */
  Set<Phase> allowedIn();

  /** Why the command is refused in {@code phase}: a sentence for the caller. */
  default String refusedIn(String vmId, Phase phase) {
    return "VM " + vmId + " is " + Phases.name(phase) + "; " + getClass().getSimpleName() + " does not apply";
  }

  /** Why this command cannot run in {@code state}, or null when it can. */
  default VmException refusal(String vmId, Lifecycle state) {
    if (state.detached()) {
      return new VmException(VmException.Kind.UNAVAILABLE, "the agent is stopping");
    }
    if (state.forgotten()) {
      return new VmException(VmException.Kind.NOT_FOUND, "VM " + vmId + " does not exist on this node");
    }
    if (!allowedIn().contains(state.phase())) {
      return new VmException(VmException.Kind.WRONG_PHASE, refusedIn(vmId, state.phase()));
    }
    return null;
  }

  /** Launch the VM's processes; a VM that has them already answers as it is. */
  record Launch(VmSpec spec, long revision, OpenImages images) implements VmCommand<AgentVm> {
    public Launch {
    }

    @Override
    public Set<Phase> allowedIn() {
      return ANY;
    }
  }

  /** Stop the VM: power button, then quit, then SIGKILL; {@code force} kills at once. A no-op once ended. */
  record Stop(Duration timeout, boolean force) implements VmCommand<AgentVm> {
    @Override
    public Set<Phase> allowedIn() {
      return ANY;
    }
  }

  /** Remove an ended VM and its state directory; {@code force} kills a running one first. */
  record Delete(boolean force) implements VmCommand<Void> {
    @Override
    public Set<Phase> allowedIn() {
      return force ? ANY : ENDED;
    }

    @Override
    public String refusedIn(String vmId, Phase phase) {
      return "VM " + vmId + " is " + Phases.name(phase) + "; stop it first, or delete with force";
    }
  }

  /** Take over a VM that a previous agent recorded ({@code pidsFound}: its processes in /proc). */
  record Adopt(VmRecord record, List<Long> pidsFound) implements VmCommand<Void> {
    public Adopt {
      pidsFound = List.copyOf(pidsFound);
    }

    @Override
    public Set<Phase> allowedIn() {
      return ANY;
    }
  }

  /** Finish the stop that a previous agent had begun when it went away. */
  record FinishStop() implements VmCommand<Void> {
    @Override
    public Set<Phase> allowedIn() {
      return UP;
    }
  }

  /** End the VM after one of its processes exited on its own while it ran. */
  record EndAfterExit(VmProcess process, ExitStatus status) implements VmCommand<Void> {
    @Override
    public Set<Phase> allowedIn() {
      return UP;
    }
  }
}
