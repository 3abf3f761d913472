package io.mpqemu.agent.state;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * Every path on disk that belongs to one VM, defined in this one place. The VM's state directory
 * holds all that a restarted agent needs to adopt the VM: the state file, the pid files QEMU writes,
 * the QMP socket and the logs.
 */
public record VmPaths(Path dir) {

  /** The name of the main QEMU process in file names and events. */
  public static final String MAIN = "main";

  public VmPaths {
    Objects.requireNonNull(dir, "dir");
    if (!dir.isAbsolute()) {
      throw new IllegalArgumentException("a VM state directory must be absolute: " + dir);
    }
  }

  public static VmPaths of(Path stateRoot, String vmId) {
    return new VmPaths(stateRoot.resolve("vms").resolve(vmId));
  }

  /** The VM's recorded state (spec, phase, process pids and start times), written atomically. */
  public Path stateFile() {
    return dir.resolve("vm.json");
  }

  public Path qmpSocket() {
    return dir.resolve("qmp.sock");
  }

  /**
   * The serial console's socket, made by the agent (0600) and served by the main QEMU: the agent
   * connects to it while a console is attached. No longer than {@link #qmpSocket()}'s name, so the
   * bound on VM ids holds for both.
   */
  public Path ttySocket() {
    return dir.resolve("tty.sock");
  }

  /** The guest's serial console; bounded by the agent (see ConsoleLog). */
  public Path consoleLog() {
    return dir.resolve("console.log");
  }

  /** The previous part of the console log, kept when the log reaches its size bound. */
  public Path consoleLogPrevious() {
    return dir.resolve("console.log.1");
  }

  /** The VM's id: the name of its directory. */
  public String vmId() {
    return dir.getFileName().toString();
  }

  /** QEMU's own stdout and stderr: "main" or a device id. */
  public Path processLog(String processName) {
    return dir.resolve(fileStem(processName) + ".log");
  }

  /** The logs of the VM's QEMU processes that exist now (main.log, dev-*.log). Blocking. */
  public List<Path> processLogs() throws IOException {
    List<Path> logs = new ArrayList<>();
    try (DirectoryStream<Path> found = Files.newDirectoryStream(dir, "{main,dev-*}.log")) {
      found.forEach(logs::add);
    } catch (NoSuchFileException e) {
      return List.of();
    }
    return logs;
  }

  /** The name of a process's cgroup under its VM's: "main" or "dev-<id>", as its log is named. */
  public static String processGroup(String processName) {
    return fileStem(processName);
  }

  private static String fileStem(String processName) {
    return MAIN.equals(processName) ? MAIN : "dev-" + processName;
  }
}
