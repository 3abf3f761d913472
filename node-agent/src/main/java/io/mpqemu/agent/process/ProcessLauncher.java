package io.mpqemu.agent.process;

import java.io.IOException;
import java.lang.ProcessBuilder.Redirect;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.Optional;

/** Starts and adopts processes. Both calls block: run them off the event loop. */
public interface ProcessLauncher {

  /**
   * Starts {@code argv} in a session of its own (so that a signal to the agent's terminal does not
   * reach it), with {@code stdin} as its fd 0 and stdout and stderr appended to {@code log}.
   */
  RunningProcess start(List<String> argv, Redirect stdin, Path log) throws IOException;

  /** The process with this pid if it is still the one that started at {@code startedAt}. */
  Optional<RunningProcess> adopt(long pid, Instant startedAt);
}
