package io.mpqemu.dist.cluster;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** A control plane or an agent in a JVM of its own (inside its host's namespace), as systemd would run it. */
final class ServiceJvm implements AutoCloseable {

  private final String name;
  private final Process process;
  private final Path log;

  private final long logStart;

  private ServiceJvm(String name, Process process, Path log, long logStart) {
    this.name = name;
    this.process = process;
    this.log = log;
    this.logStart = logStart;
  }

  /** Starts {@code mainClass args} in {@code host}'s namespace and waits for {@code readyLine} in its log. */
  static ServiceJvm start(ClusterNet.Host host, String name, Path log, String readyLine, String mainClass, List<String> args)
      throws IOException {
    String classpath = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
    List<String> cmd = new ArrayList<>(host.prefix());
    cmd.addAll(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xmx256m",
        "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
        // what the jars' manifests grant Hazelcast (Add-Opens): without them it warns at every start
        "--add-opens", "java.base/java.lang=ALL-UNNAMED", "--add-opens", "java.base/sun.nio.ch=ALL-UNNAMED",
        "--add-opens", "java.management/sun.management=ALL-UNNAMED",
        "--add-opens", "jdk.management/com.sun.management.internal=ALL-UNNAMED",
        "--add-exports", "java.base/jdk.internal.ref=ALL-UNNAMED", "-cp", classpath, mainClass));
    cmd.addAll(args);
    long logStart = Files.exists(log) ? Files.size(log) : 0; // a restart appends to the same log
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()))
        .start();
    ServiceJvm jvm = new ServiceJvm(name, p, log, logStart);
    jvm.awaitLog(readyLine, Duration.ofSeconds(90));
    return jvm;
  }

  /** Waits until this JVM has logged a line containing {@code text}. */
  String awaitLog(String text, Duration within) throws IOException {
    long deadline = System.nanoTime() + within.toNanos();
    while (System.nanoTime() < deadline) {
      String all = log();
      for (String line : all.lines().toList()) {
        if (line.contains(text)) {
          return line;
        }
      }
      if (!process.isAlive()) {
        throw new AssertionError(name + " exited with " + process.exitValue() + " before logging '" + text + "':\n" + all);
      }
      sleep(100);
    }
    throw new AssertionError(name + " did not log '" + text + "' within " + within + ":\n" + log());
  }

  /** What this JVM logged (a restarted service's log file also holds the previous JVM's lines, before these). */
  String log() throws IOException {
    if (!Files.exists(log)) {
      return "";
    }
    byte[] all = Files.readAllBytes(log);
    return new String(all, (int) Math.min(logStart, all.length), (int) Math.max(0, all.length - logStart),
        java.nio.charset.StandardCharsets.UTF_8);
  }

  long pid() {
    return process.pid();
  }

  boolean alive() {
    return process.isAlive();
  }

  void kill9() throws InterruptedException {
    process.destroyForcibly();
    process.waitFor(30, TimeUnit.SECONDS);
  }

  void terminate() throws InterruptedException {
    process.destroy();
    if (!process.waitFor(30, TimeUnit.SECONDS)) {
      kill9();
    }
  }

  @Override
  public void close() throws InterruptedException {
    if (process.isAlive()) {
      terminate();
    }
  }

  static void sleep(long ms) {
    io.mpqemu.controlplane.bench.Bench.sleep(ms);
  }
}
