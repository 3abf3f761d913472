package io.mpqemu.agent.process;

import java.io.IOException;
import java.lang.ProcessBuilder.Redirect;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * Starts processes through util-linux {@code setsid}, which gives each its own session and process
 * group and then execs the program, so the pid Java reports is the program's own. VMs therefore
 * survive Ctrl-C in the agent's terminal and an agent restart.
 */
public final class SetsidProcessLauncher implements ProcessLauncher {

  private final Path setsid;

  public SetsidProcessLauncher() {
    this(findSetsid());
  }

  public SetsidProcessLauncher(Path setsid) {
    this.setsid = setsid;
  }

  private static Path findSetsid() {
    for (String dir : List.of("/usr/bin", "/bin", "/usr/sbin", "/sbin")) {
      Path candidate = Path.of(dir, "setsid");
      if (Files.isExecutable(candidate)) {
        return candidate;
      }
    }
    throw new IllegalStateException("setsid (util-linux) was not found in /usr/bin or /bin; install util-linux");
  }

  @Override
  public RunningProcess start(List<String> argv, Redirect stdin, Path log) throws IOException {
    List<String> command = new ArrayList<>(argv.size() + 1);
    command.add(setsid.toString());
    command.addAll(argv);
    Process process = new ProcessBuilder(command)
        .redirectInput(stdin)
        .redirectErrorStream(true)
        .redirectOutput(Redirect.appendTo(log.toFile()))
        .start();
    return new ChildProcess(process);
  }

  @Override
  public Optional<RunningProcess> adopt(long pid, Instant startedAt) {
    return ProcessHandle.of(pid)
        .filter(h -> h.isAlive() && ProcessTable.isRunning(pid))
        .filter(h -> h.info().startInstant().map(startedAt::equals).orElse(false))
        .map(h -> new AdoptedProcess(h, startedAt));
  }
}
