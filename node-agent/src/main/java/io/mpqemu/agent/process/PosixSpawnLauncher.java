package io.mpqemu.agent.process;

import io.mpqemu.agent.sys.Fd;
import io.mpqemu.agent.sys.PosixSpawn;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Starts QEMU processes with exactly the descriptors they are given ({@link PosixSpawn}), each in a
 * session of its own so that VMs survive Ctrl-C in the agent's terminal and an agent restart, and
 * reaps them. The pid recorded is the program's own. Blocking: run it off the event loop.
 */
public final class PosixSpawnLauncher implements ProcessLauncher {

  /** The whole environment of a QEMU process, besides its marker: QEMU reads nothing else from it. */
  static final String PATH = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

  /**
   * Starts {@code argv} with {@code fds} (child descriptor number to the agent's descriptor; 0, 1 and
   * 2 must be among them) and an environment of {@link #PATH} and {@code marker} (see
   * {@link ProcessMarker}). The agent keeps its descriptors: the child gets copies.
   */
  @Override
  public RunningProcess start(List<String> argv, Map<Integer, Fd> fds, List<String> marker) throws IOException {
    for (int std = 0; std <= 2; std++) {
      if (!fds.containsKey(std)) {
        throw new IllegalArgumentException("descriptor " + std + " must be given to " + argv.get(0));
      }
    }
    List<String> env = new ArrayList<>();
    env.add(PATH);
    env.addAll(marker);
    return new SpawnedProcess(PosixSpawn.spawn(argv, env, fds, true));
  }

  private final Path executable;

  /** @param executable the real path of the QEMU binary: an adopted process must run it */
  public PosixSpawnLauncher(Path executable) {
    this.executable = executable;
  }

  @Override
  public Optional<RunningProcess> adopt(long pid, Instant startedAt, long uid) {
    return ProcessHandle.of(pid)
        .filter(h -> h.isAlive() && ProcessTable.isRunning(pid))
        .filter(h -> h.info().startInstant().map(startedAt::equals).orElse(false))
        .filter(h -> ProcessTable.uid(pid).orElse(-1) == uid && ProcessTable.runs(pid, executable))
        .map(h -> new AdoptedProcess(h, startedAt));
  }
}
