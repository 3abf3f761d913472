package io.mpqemu.agent.e2e;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** A node agent in a JVM of its own, so a test can SIGKILL or SIGTERM it. */
final class AgentJvm implements AutoCloseable {

  private static int started;

  private final Process process;
  private final Path log;

  private AgentJvm(Process process, Path log) {
    this.process = process;
    this.log = log;
  }

  /** Starts {@code node-agent serve} on the harness's directories and waits until it answers. */
  static AgentJvm start(AgentHarness h, String... extraArgs) throws IOException {
    Path log = h.root.resolve("agent-" + (++started) + ".log");
    String classpath = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
    List<String> cmd = new ArrayList<>(List.of(
        Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xmx256m", "-cp", classpath,
        "io.mpqemu.agent.NodeAgentMain", "serve", "--node-id", "test-node", "--state-dir", h.stateDir.toString(),
        "--image-root", h.imageRoot.toString(), "--listen", "unix:" + h.socket, "--memory-mib", "4096"));
    cmd.addAll(List.of(extraArgs));
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
    AgentJvm jvm = new AgentJvm(p, log);
    jvm.awaitReady(h, Duration.ofSeconds(60));
    return jvm;
  }

  private void awaitReady(AgentHarness h, Duration within) throws IOException {
    long deadline = System.nanoTime() + within.toNanos();
    while (System.nanoTime() < deadline) {
      if (!process.isAlive()) {
        throw new AssertionError("the agent exited with " + process.exitValue() + ": " + log());
      }
      if (Files.exists(h.socket)) {
        try {
          h.nodeInfo();
          return;
        } catch (RuntimeException notYet) {
          // not serving yet
        }
      }
      AgentHarness.sleep(100);
    }
    throw new AssertionError("the agent did not answer within " + within + ": " + log());
  }

  long pid() {
    return process.pid();
  }

  void kill9() throws InterruptedException {
    process.destroyForcibly();
    process.waitFor(30, TimeUnit.SECONDS);
  }

  /** SIGTERM, as systemd or Ctrl-C would stop it; returns its exit code. */
  int terminate() throws InterruptedException, IOException {
    process.destroy();
    if (!process.waitFor(30, TimeUnit.SECONDS)) {
      throw new AssertionError("the agent did not exit within 30 s of SIGTERM: " + log());
    }
    return process.exitValue();
  }

  String log() throws IOException {
    return Files.exists(log) ? Files.readString(log) : "(no log)";
  }

  @Override
  public void close() throws InterruptedException {
    if (process.isAlive()) {
      kill9();
    }
  }
}
