package io.mpqemu.agent.vm;

import io.vertx.core.Future;
import io.vertx.core.Promise;

/** One run of the launch steps: the step it is at, and whether a process exit aborted it. */
final class LaunchAttempt {

  private final Promise<Void> abort = Promise.promise();
  private String step = "";

  void enter(String stepName) {
    this.step = stepName;
  }

  String step() {
    return step;
  }

  /** A process of the VM exited meanwhile: the current step fails with {@code why}. */
  void abort(StepFailure why) {
    abort.tryFail(why);
  }

  /** Why the launch was aborted, or null. */
  Throwable abortCause() {
    return abort.future().failed() ? abort.future().cause() : null;
  }

  /** Fails when the launch is aborted; never succeeds. */
  Future<Void> aborted() {
    return abort.future();
  }
}
