package io.mpqemu.agent.vm;

import io.mpqemu.agent.process.ExitStatus;
import io.mpqemu.v1.ProcessRole;
import io.mpqemu.v1.ProcessState;
import io.mpqemu.v1.ProcessStatus;
import io.mpqemu.wire.Timestamps;
import java.time.Instant;

/** Small conversions to the protobuf values the agent reports. */
public final class Protos {

  private Protos() {}

  public static ProcessStatus processStatus(String name, ProcessRole role, long pid, Instant startedAt, ExitStatus exit) {
    ProcessStatus.Builder b = ProcessStatus.newBuilder()
        .setName(name).setRole(role).setPid(pid).setStartedAt(Timestamps.of(startedAt))
        .setState(exit == null ? ProcessState.PROCESS_STATE_RUNNING : ProcessState.PROCESS_STATE_EXITED);
    if (exit != null) {
      exit.code().ifPresent(b::setExitStatus);
      exit.signal().ifPresent(b::setSignal);
    }
    return b.build();
  }
}
