package io.mpqemu.dist.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import io.mpqemu.testing.Await;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A control-plane CLI command run in a pseudo-terminal, as a user at a terminal runs it: util-linux
 * {@code script} gives it one, the test types into it and reads what it shows. The terminal's settings
 * are printed before and after the command, so a test can see that the command left them as it found them.
 */
final class Terminal {

  private static final Pattern FRAME = Pattern.compile(
      "STTY-BEFORE=(\\S+).*EXIT=(\\d+).*STTY-AFTER=(\\S+)", Pattern.DOTALL);

  private final Process script;
  private final OutputStream keys;
  private final StringBuffer output = new StringBuffer();

  private Terminal(Process script) {
    this.script = script;
    this.keys = script.getOutputStream();
    Thread reader = new Thread(() -> read(script.getInputStream()), "terminal-output");
    reader.setDaemon(true);
    reader.start();
  }

  record Result(int code, String output, String sttyBefore, String sttyAfter) {}

  /** Runs {@code control-plane --server <fleet's> ARGS} in a new pseudo-terminal. */
  static Terminal run(Fleet fleet, String args) throws IOException {
    String classpath = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    String command = "echo STTY-BEFORE=$(stty -g); \"$MPQ_JAVA\" -cp \"$MPQ_CP\" io.mpqemu.dist.ControlPlaneJar"
        + " --server \"unix:$MPQ_SOCK\" " + args + "; echo EXIT=$?; echo STTY-AFTER=$(stty -g)";
    ProcessBuilder pb = new ProcessBuilder("script", "-qfec", command, "/dev/null").redirectErrorStream(true);
    pb.environment().put("MPQ_JAVA", java);
    pb.environment().put("MPQ_CP", classpath);
    pb.environment().put("MPQ_SOCK", fleet.cpSocket.toString());
    pb.environment().put("SHELL", "/bin/bash");
    return new Terminal(pb.start());
  }

  private void read(InputStream in) {
    byte[] buf = new byte[4096];
    try {
      int n;
      while ((n = in.read(buf)) > 0) {
        output.append(new String(buf, 0, n, StandardCharsets.ISO_8859_1));
      }
    } catch (IOException e) {
      // the process ended
    }
  }

  String output() {
    return output.toString();
  }

  /** Types {@code keys} (a carriage return is Enter). */
  void type(String text) throws IOException {
    keys.write(text.getBytes(StandardCharsets.ISO_8859_1));
    keys.flush();
  }

  /** Waits until the terminal shows {@code text} after offset {@code from}; answers what it shows from there. */
  String awaitOutput(int from, String text) {
    return Await.atMost(Duration.ofSeconds(60)).every(Duration.ofMillis(50)).until(() -> output.substring(from),
        s -> s.contains(text), s -> "the terminal did not show '" + text + "'; it shows: " + s);
  }

  /** Waits for the command and the terminal to end. */
  Result awaitExit() throws InterruptedException {
    assertThat(script.waitFor(60, TimeUnit.SECONDS)).as("the command ended; it showed: %s", output).isTrue();
    String shown = Await.atMost(Duration.ofSeconds(10)).every(Duration.ofMillis(50)).until(this::output,
        s -> FRAME.matcher(s).find(), s -> "no settings after the command; it showed: " + s);
    Matcher m = FRAME.matcher(shown);
    assertThat(m.find()).isTrue();
    return new Result(Integer.parseInt(m.group(2)), shown, m.group(1), m.group(3));
  }

  /** The pid of the CLI's JVM, a descendant of the terminal's process. */
  long cliPid() {
    return Await.atMost(Duration.ofSeconds(30)).every(Duration.ofMillis(100)).until(
        () -> script.descendants().filter(p -> p.info().command().orElse("").endsWith("/java")).findFirst()
            .map(ProcessHandle::pid).orElse(-1L), pid -> pid > 0, x -> "no CLI process under the terminal");
  }

  void kill() {
    script.descendants().forEach(ProcessHandle::destroyForcibly);
    script.destroyForcibly();
  }
}
