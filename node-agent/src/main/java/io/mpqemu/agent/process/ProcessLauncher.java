package io.mpqemu.agent.process;

import io.mpqemu.agent.sys.Fd;
import java.io.IOException;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/** Starts and adopts processes. Both calls block: run them off the event loop. */
public interface ProcessLauncher {

  /**
   * Starts {@code argv} in a session of its own (so that a signal to the agent's terminal does not
   * reach it) with exactly the descriptors of {@code fds} (its number to the agent's descriptor,
   * which the agent keeps; 0, 1 and 2 among them) and {@code marker} in its environment
   * ({@link ProcessMarker}).
   */
  RunningProcess start(List<String> argv, Map<Integer, Fd> fds, List<String> marker) throws IOException;

  /**
   * The process with this pid if it is still the one that started at {@code startedAt}, runs the
   * QEMU binary this launcher starts and runs as {@code uid}: a recorded pid that now names another
   * process is never taken over.
   */
  Optional<RunningProcess> adopt(long pid, Instant startedAt, long uid);
}
