package io.mpqemu.testing;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.TimeUnit;

/**
 * A service's main class on the test class path, in a JVM of its own (optionally behind a command
 * prefix such as {@code ip netns exec NS}), its output appended to a log file, as systemd would run
 * it; so a test can read its log, SIGTERM or SIGKILL it, and start it again.
 */
public final class ServiceJvm implements AutoCloseable {

  private static final Duration STOP_WITHIN = Duration.ofSeconds(30);

  private final Command command;
  private final Process process;
  private final long logStart;

  private ServiceJvm(Command command, Process process, long logStart) {
    this.command = command;
    this.process = process;
    this.logStart = logStart;
  }

  /** A command for {@code mainClass}, named {@code name} in failure messages. */
  public static Command command(String name, String mainClass, Path log) {
    return new Command(name, List.of(), List.of(), mainClass, List.of(), log, null);
  }

  /** How to start one service: what runs it, the JVM's options, the main class, its arguments, the log. */
  public record Command(String name, List<String> prefix, List<String> jvmOptions, String mainClass, List<String> args,
      Path log, String classpath) {

    /** Runs the JVM behind {@code prefix}, e.g. {@code ip netns exec NS}. */
    public Command prefix(List<String> prefix) {
      return new Command(name, List.copyOf(prefix), jvmOptions, mainClass, args, log, classpath);
    }

    /** Adds JVM options (before the main class). */
    public Command jvm(List<String> options) {
      List<String> all = new ArrayList<>(jvmOptions);
      all.addAll(options);
      return new Command(name, prefix, List.copyOf(all), mainClass, args, log, classpath);
    }

    public Command jvm(String... options) {
      return jvm(List.of(options));
    }

    /** Adds arguments of the main class. */
    public Command args(List<String> more) {
      List<String> all = new ArrayList<>(args);
      all.addAll(more);
      return new Command(name, prefix, jvmOptions, mainClass, List.copyOf(all), log, classpath);
    }

    public Command args(String... more) {
      return args(List.of(more));
    }

    /** Runs the main class from {@code path} (a jar, say an earlier build's) instead of the test class path. */
    public Command classpath(String path) {
      return new Command(name, prefix, jvmOptions, mainClass, args, log, path);
    }

    /** Starts the JVM and waits until it logs a line containing {@code readyLine}. */
    public ServiceJvm start(String readyLine, Duration within) throws IOException {
      String cp = classpath != null ? classpath
          : System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
      List<String> cmd = new ArrayList<>(prefix);
      cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
      cmd.addAll(jvmOptions);
      cmd.addAll(List.of("-cp", cp, mainClass));
      cmd.addAll(args);
      long logStart = Files.exists(log) ? Files.size(log) : 0; // a restart appends to the same log
      Process p = new ProcessBuilder(cmd).redirectErrorStream(true)
          .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile())).start();
      ServiceJvm jvm = new ServiceJvm(this, p, logStart);
      jvm.awaitLog(readyLine, within);
      return jvm;
    }
  }

  /** Waits until this JVM has logged a line containing {@code text}; returns that line. */
  public String awaitLog(String text, Duration within) {
    return Await.atMost(within).every(Duration.ofMillis(100)).until(() -> lineOrExit(text), Objects::nonNull,
        none -> command.name() + " did not log '" + text + "':\n" + log());
  }

  /** The first line containing {@code text}, or null; fails if the JVM exited without logging it. */
  private String lineOrExit(String text) {
    boolean exited = !process.isAlive();
    String log = log();
    String line = log.lines().filter(l -> l.contains(text)).findFirst().orElse(null);
    if (line == null && exited) {
      throw new AssertionError(command.name() + " exited with " + process.exitValue() + " before logging '" + text
          + "':\n" + log);
    }
    return line;
  }

  /** What this JVM logged (a restarted service's log file also holds the previous JVM's lines, before these). */
  public String log() {
    try {
      if (!Files.exists(command.log())) {
        return "";
      }
      byte[] all = Files.readAllBytes(command.log());
      int from = (int) Math.min(logStart, all.length);
      return new String(all, from, all.length - from, StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new AssertionError("cannot read " + command.log(), e);
    }
  }

  public long pid() {
    return process.pid();
  }

  public boolean alive() {
    return process.isAlive();
  }

  /** SIGKILL, and waits until the process is gone. */
  public void kill9() throws InterruptedException {
    process.destroyForcibly();
    process.waitFor(STOP_WITHIN.toSeconds(), TimeUnit.SECONDS);
  }

  /** SIGSTOP: the JVM stops where it is, its sockets open, as a host that stalls would (resume with {@link #resume}). */
  public void pause() throws IOException, InterruptedException {
    signal("STOP");
  }

  /** SIGCONT after {@link #pause}: it goes on from where it stopped, its timers late. */
  public void resume() throws IOException, InterruptedException {
    signal("CONT");
  }

  private void signal(String name) throws IOException, InterruptedException {
    Process kill = new ProcessBuilder("kill", "-" + name, Long.toString(process.pid())).inheritIO().start();
    if (kill.waitFor() != 0) {
      throw new IOException("kill -" + name + " " + process.pid() + " exited with " + kill.exitValue());
    }
  }

  /** SIGTERM, as systemd or Ctrl-C would stop it; returns its exit code, or fails if it does not exit. */
  public int terminate() throws InterruptedException {
    process.destroy();
    if (!process.waitFor(STOP_WITHIN.toSeconds(), TimeUnit.SECONDS)) {
      kill9();
      throw new AssertionError(command.name() + " did not exit within " + STOP_WITHIN + " of SIGTERM:\n" + log());
    }
    return process.exitValue();
  }

  /** Stops this JVM if it still runs and starts the same command again, appending to the same log. */
  public ServiceJvm restart(String readyLine, Duration within) throws IOException, InterruptedException {
    close();
    return command.start(readyLine, within);
  }

  /** SIGTERM, then SIGKILL if it does not exit in time. */
  @Override
  public void close() throws InterruptedException {
    if (process.isAlive()) {
      process.destroy();
      if (!process.waitFor(STOP_WITHIN.toSeconds(), TimeUnit.SECONDS)) {
        kill9();
      }
    }
  }
}
