package io.mpqemu.agent.vm;

import com.google.protobuf.Timestamp;
import io.mpqemu.agent.process.ExitStatus;
import io.mpqemu.v1.Phase;
import io.mpqemu.v1.ProcessRole;
import io.mpqemu.v1.ProcessState;
import io.mpqemu.v1.ProcessStatus;
import java.time.Instant;
import java.util.Locale;

/** Small conversions to the protobuf values the agent reports. */
public final class Protos {

  private Protos() {}

  public static Timestamp timestamp(Instant t) {
    return Timestamp.newBuilder().setSeconds(t.getEpochSecond()).setNanos(t.getNano()).build();
  }

  /** "running", "stopped", ... for messages. */
  public static String phaseName(Phase phase) {
    return phase.name().replace("PHASE_", "").toLowerCase(Locale.ROOT);
  }

  public static ProcessStatus processStatus(String name, ProcessRole role, long pid, Instant startedAt, ExitStatus exit) {
    ProcessStatus.Builder b = ProcessStatus.newBuilder()
        .setName(name).setRole(role).setPid(pid).setStartedAt(timestamp(startedAt))
        .setState(exit == null ? ProcessState.PROCESS_STATE_RUNNING : ProcessState.PROCESS_STATE_EXITED);
    if (exit != null) {
      exit.code().ifPresent(b::setExitStatus);
      exit.signal().ifPresent(b::setSignal);
    }
    return b.build();
  }

  /** A failure as one line: its message, or its class when it has none. */
  public static String describe(Throwable e) {
    Throwable t = e;
    while (t.getMessage() == null && t.getCause() != null) {
      t = t.getCause();
    }
    return t.getMessage() != null ? t.getMessage() : t.getClass().getSimpleName();
  }
}
