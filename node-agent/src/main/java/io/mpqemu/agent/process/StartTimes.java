package io.mpqemu.agent.process;

import java.time.Instant;

/** The kernel's start time of a process, the half of its identity that a reused pid does not share. */
final class StartTimes {

  private StartTimes() {}

  static Instant of(ProcessHandle handle) {
    return handle.info().startInstant()
        .orElseThrow(() -> new IllegalStateException("no start time for pid " + handle.pid()));
  }
}
