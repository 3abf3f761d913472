package io.mpqemu.agent.vm;

/** A launch step that failed, and why. */
final class StepFailure extends RuntimeException {

  private final String step;
  private final String detail;

  StepFailure(String step, String detail) {
    super("step " + step + ": " + detail, null, false, false);
    this.step = step;
    this.detail = detail;
  }

  String step() {
    return step;
  }

  String detail() {
    return detail;
  }
}
