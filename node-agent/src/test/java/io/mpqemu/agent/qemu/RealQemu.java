package io.mpqemu.agent.qemu;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Starts real QEMU processes for a test, logs each to a file in the test's directory, and kills
 * whatever is still running on {@link #close}.
 */
final class RealQemu implements AutoCloseable {

  static final String BINARY = "qemu-system-x86_64";

  private final Path dir;
  private final List<Process> processes = new ArrayList<>();

  RealQemu(Path dir) {
    this.dir = dir;
  }

  Path qmpSocket() {
    return dir.resolve("qmp.sock");
  }

  /** A paused main QEMU with a QMP socket and no devices; {@code extra} comes last. */
  List<String> mainArguments(String machine, String... extra) {
    List<String> args =
        new ArrayList<>(
            List.of(
                BINARY, "-machine", machine, "-accel", "tcg", "-nodefaults", "-display", "none",
                "-S", "-chardev",
                "socket,id=qmp,path=" + qmpSocket() + ",server=on,wait=off",
                "-mon", "chardev=qmp,mode=control"));
    args.addAll(List.of(extra));
    return args;
  }

  Process startMain() throws IOException {
    return start("main", null, mainArguments("pc", "-m", "64"));
  }

  /** Starts {@code command}; stdin is {@code stdin} when not null; output goes to NAME.log. */
  Process start(String name, ProcessBuilder.Redirect stdin, List<String> command)
      throws IOException {
    ProcessBuilder builder =
        new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log(name).toFile());
    if (stdin != null) {
      builder.redirectInput(stdin);
    }
    Process process = builder.start();
    processes.add(process);
    return process;
  }

  Path log(String name) {
    return dir.resolve(name + ".log");
  }

  String logText(String name) {
    try {
      return Files.exists(log(name)) ? Files.readString(log(name)) : "(no log)";
    } catch (IOException e) {
      return "(unreadable log: " + e + ")";
    }
  }

  @Override
  public void close() {
    for (Process process : processes) {
      process.destroyForcibly();
    }
    for (Process process : processes) {
      try {
        process.waitFor(10, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new AssertionError("interrupted while killing QEMU", e);
      }
    }
    assertNoQemuLeft();
  }

  static void assertNoQemuLeft() {
    assertThat(
            ProcessHandle.current()
                .descendants()
                .filter(ProcessHandle::isAlive)
                .filter(p -> p.info().command().orElse("").contains("qemu-system")))
        .as("QEMU processes left by the test")
        .isEmpty();
  }
}
