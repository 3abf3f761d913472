package io.mpqemu.agent.bench;

import io.vertx.core.Vertx;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * {@code node-agent serve} in a JVM of its own with the JVM options given (the e2e {@code AgentJvm}
 * does the same with a fixed -Xmx256m, but it and its harness are package-private to
 * {@code io.mpqemu.agent.e2e}). The same command line otherwise: the test class path, the agent's
 * main class, its state and image directories, a UNIX socket.
 */
final class SeparateAgentJvm implements AutoCloseable {

  final Path stateDir;
  final Path imageRoot;
  final Path socket;
  final AgentClient client;
  private final Process process;
  private final Path log;
  private final Vertx vertx;

  SeparateAgentJvm(Path root, List<String> jvmOptions, String accelerator) throws IOException {
    stateDir = root.resolve("jvm-agent-state");
    imageRoot = root.resolve("images");
    socket = root.resolve("jvm-agent.sock");
    log = root.resolve("jvm-agent.log");
    String classpath = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
    List<String> cmd = new ArrayList<>();
    cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    cmd.addAll(jvmOptions);
    cmd.addAll(List.of("-cp", classpath, "io.mpqemu.agent.NodeAgentMain", "serve", "--node-id", "bench-node",
        "--state-dir", stateDir.toString(), "--image-root", imageRoot.toString(), "--listen", "unix:" + socket,
        "--memory-mib", "4096", "--accelerator", accelerator));
    process = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
    vertx = Vertx.vertx();
    client = new AgentClient(vertx, socket);
    awaitReady(Duration.ofSeconds(60));
  }

  private void awaitReady(Duration within) throws IOException {
    long deadline = System.nanoTime() + within.toNanos();
    while (System.nanoTime() < deadline) {
      if (!process.isAlive()) {
        throw new AssertionError("the agent exited with " + process.exitValue() + ": " + log());
      }
      if (Files.exists(socket)) {
        try {
          client.nodeInfo();
          return;
        } catch (RuntimeException notYet) {
          // not serving yet
        }
      }
      LaunchLatencyBenchmark.sleep(100);
    }
    throw new AssertionError("the agent did not answer within " + within + ": " + log());
  }

  long pid() {
    return process.pid();
  }

  String log() throws IOException {
    return Files.exists(log) ? Files.readString(log) : "(no log)";
  }

  /** SIGTERM (VMs outlive the agent by design: stop them first). */
  @Override
  public void close() throws Exception {
    if (process.isAlive()) {
      process.destroy();
      if (!process.waitFor(30, TimeUnit.SECONDS)) {
        process.destroyForcibly().waitFor(30, TimeUnit.SECONDS);
      }
    }
    vertx.close().toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
  }
}
