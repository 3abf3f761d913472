package io.mpqemu.controlplane.policy;

import io.mpqemu.controlplane.store.StoredVm;
import io.mpqemu.controlplane.vm.Backoff;
import io.mpqemu.v1.DesiredState;
import io.mpqemu.v1.Phase;
import io.mpqemu.v1.RestartPolicy;
import java.time.Duration;
import java.util.Optional;

/**
 * The restart policy as a function: a VM whose run ended, and the longest back-off, give the next restart
 * or none. The n-th restart waits {@link Backoff#after}(n - 1): 1 s, 2 s, 4 s ... up to the maximum.
 * {@code status.restarts} counts the restarts so far and never resets while the VM exists (as
 * {@code restartCount} in Kubernetes); the wait is capped, so a VM that keeps failing is retried every
 * {@code max} for as long as its policy says.
 */
public final class Restarts {

  /** A restart to schedule: the {@code attempt}-th, after {@code delay}. */
  public record Restart(int attempt, Duration delay, String message) {}

  private Restarts() {}

  /** The restart {@code vm} is due, or empty when it should stay as it is. */
  public static Optional<Restart> next(StoredVm vm, Duration maxBackoff) {
    if (vm.desiredState() != DesiredState.RUNNING) {
      return Optional.empty();
    }
    RestartPolicy policy = vm.spec().getRestartPolicy();
    Phase phase = vm.status().getPhase();
    boolean restart = phase == Phase.PHASE_FAILED && (policy == RestartPolicy.ON_FAILURE || policy == RestartPolicy.ALWAYS)
        || phase == Phase.PHASE_STOPPED && policy == RestartPolicy.ALWAYS;
    if (!restart) {
      return Optional.empty();
    }
    int restarts = vm.status().getRestarts();
    Duration delay = Backoff.after(restarts, maxBackoff);
    return Optional.of(new Restart(restarts + 1, delay, "restart " + (restarts + 1) + " (restart_policy " + policy
        + ") in " + delay.toMillis() + " ms"));
  }
}
