package io.mpqemu.dist.scripts;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import io.mpqemu.testing.TestGuest;
import org.junit.jupiter.api.Test;

/**
 * The real deploy/demo.sh, in a pseudo-terminal (util-linux script), with its data in a temporary
 * directory. It runs the services' main classes from the test class path (MPQEMU_DEMO_CLASSPATH):
 * surefire runs before the package phase makes the jars. Ctrl-C is a 0x03 written to the terminal,
 * so the line discipline signals the terminal's foreground process group, as a keyboard would.
 */
class DemoScriptTest {

  private static final String PROMPT = TestGuest.PROMPT;
  private static final String SERVING = "==> serving until Ctrl-C";
  /** A loaded 2-core machine: a dozen client JVMs, the control plane, QEMU and SeaBIOS. */
  private static final Duration UP_WITHIN = Duration.ofMinutes(5);
  private static final Duration CLEAN_WITHIN = Duration.ofSeconds(90);

  private final Path root = ScriptProcesses.repoRoot();
  private final List<Process> scripts = new ArrayList<>();
  private Path tmp;
  private Path data;
  private Path guest;

  @BeforeEach
  void setUp() throws Exception {
    guest = TestGuest.ensureBuilt();
    tmp = Files.createTempDirectory("demo-script-test");
    data = tmp.resolve("run");
  }

  /** Whatever happened: no process naming the data directory, no temporary files. */
  @AfterEach
  void tearDown() throws Exception {
    for (Process p : scripts) {
      p.descendants().forEach(ProcessHandle::destroyForcibly);
      p.destroyForcibly();
    }
    ScriptProcesses.killNaming(data.toString());
    ScriptProcesses.deleteTree(tmp);
  }

  @Test
  void ctrlCAfterAFirstRunLeavesNothingRunning() throws Exception {
    Demo demo = start("exec deploy/demo.sh", "first");
    demo.awaitText("escape character is ^]");
    demo.type("lspci -n\r");
    // lspci -n prints "class: vendor:device"; the kernel's log prints "[vendor:device] ... class 0x..." instead
    assertThat(demo.awaitText("0100: 1af4:")).as("the guest's disk controller is the proxied virtio-blk")
        .containsPattern("0100: 1af4:10(01|42)");
    demo.awaitServing(); // leaves the console with Ctrl-]
    assertThat(demo.output()).contains("==> its serial console").doesNotContain("ALREADY_EXISTS");

    demo.ctrlC();

    assertAllCleanedUp(demo);
  }

  @Test
  void aSecondRunAfterKillMinus9CarriesOnAndCleansUp() throws Exception {
    Demo first = start("exec deploy/demo.sh", "first");
    first.awaitServing();
    ProcessHandle shell = first.process.children().findFirst().orElseThrow();
    assertThat(shell.info().commandLine().orElse("")).contains("deploy/demo.sh");
    shell.destroyForcibly(); // SIGKILL: no trap runs
    assertThat(first.process.waitFor(60, TimeUnit.SECONDS)).as("script exits with its child").isTrue();
    assertThat(ScriptProcesses.naming(data.toString())).as("the control plane and the VM are left")
        .anyMatch(p -> p.contains(" serve --embedded-agent ")).anyMatch(p -> p.contains("qemu-system"));
    assertThat(demoVms()).isEqualTo(1);

    Demo second = start("exec deploy/demo.sh", "second");
    second.awaitServing();
    assertThat(second.output()).contains("==> stopping the control plane an earlier run left")
        .contains("==> deleting the example VM an earlier run left").doesNotContain("ALREADY_EXISTS");

    second.ctrlC();

    assertAllCleanedUp(second);
  }

  @Test
  void ctrlCUnderTeeStillCleansUp() throws Exception {
    Path log = tmp.resolve("demo.log");
    Demo demo = start("deploy/demo.sh | tee " + log, "tee");
    demo.awaitServing();
    assertThat(new String(Files.readAllBytes(log), StandardCharsets.UTF_8)).contains(PROMPT)
        .doesNotContain("attaching to its console");

    demo.ctrlC(); // tee dies too: the cleanup's writes to the pipe fail

    assertAllCleanedUp(demo);
  }

  private void assertAllCleanedUp(Demo demo) throws Exception {
    assertThat(demo.process.waitFor(CLEAN_WITHIN.toSeconds(), TimeUnit.SECONDS))
        .as("the demo exits after Ctrl-C:\n%s", demo.output()).isTrue();
    long deadline = System.nanoTime() + CLEAN_WITHIN.toNanos();
    List<String> left = ScriptProcesses.naming(data.toString());
    while (!left.isEmpty() && System.nanoTime() < deadline) {
      Thread.sleep(200);
      left = ScriptProcesses.naming(data.toString());
    }
    assertThat(left).as("processes left (no control plane, QEMU, client or shell):\n%s", demo.output()).isEmpty();
    assertThat(demoVms()).as("the demo VM is deleted").isZero();
  }

  /** VMs named demo in the control plane's database (read once no control plane runs). */
  private int demoVms() throws Exception {
    try (Connection db = DriverManager.getConnection("jdbc:sqlite:file:" + data.resolve("control-plane.db") + "?mode=ro");
        ResultSet rs = db.createStatement().executeQuery("SELECT count(*) FROM vms WHERE name = 'demo'")) {
      rs.next();
      return rs.getInt(1);
    }
  }

  private Demo start(String command, String name) throws IOException {
    Path out = tmp.resolve(name + ".out");
    String classpath = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
    Path javaBin = Path.of(System.getProperty("java.home"), "bin");
    // env --default-signal: a JVM started with SIGINT ignored (Maven run from a background job) passes
    // that on, and bash cannot trap a signal ignored on entry; a terminal's Ctrl-C is never ignored.
    ProcessBuilder pb = new ProcessBuilder("env", "--default-signal=INT,QUIT", "script", "-qfc", command, "/dev/null")
        .directory(root.toFile()).redirectErrorStream(true).redirectOutput(out.toFile());
    Map<String, String> env = pb.environment();
    env.put("MPQEMU_DATA", data.toString());
    env.put("MPQEMU_GUEST_DIR", guest.toString());
    env.put("MPQEMU_DEMO_CLASSPATH", classpath);
    env.put("PATH", javaBin + ":" + env.getOrDefault("PATH", "/usr/sbin:/usr/bin:/sbin:/bin"));
    env.put("SHELL", "/bin/bash"); // what script runs the command with
    env.put("TERM", "dumb");
    Process p = pb.start();
    scripts.add(p);
    return new Demo(p, out);
  }

  private record Demo(Process process, Path out) {

    String output() {
      try {
        // read while the demo writes: the last character may be cut in the middle of its UTF-8 bytes, so decode
        // leniently (readString would throw on it) rather than fail on a half-written line
        return Files.exists(out) ? new String(Files.readAllBytes(out), StandardCharsets.UTF_8) : "";
      } catch (IOException e) {
        throw new AssertionError(e);
      }
    }

    /**
     * Until the console has shown the guest's prompt and the demo serves; it leaves the attached console
     * with Ctrl-] as a user does.
     */
    void awaitServing() throws InterruptedException, IOException {
      long deadline = System.nanoTime() + UP_WITHIN.toNanos();
      boolean left = false;
      while (System.nanoTime() < deadline) {
        String o = output();
        if (o.contains(SERVING)) {
          assertThat(o.substring(o.indexOf("==> its serial console"))).as(o).contains(PROMPT);
          return;
        }
        if (!left && o.contains("escape character is ^]")) {
          type("\u001d");
          left = true;
        }
        if (!process.isAlive()) {
          throw new AssertionError("the demo exited with " + process.exitValue() + " before serving:\n" + o);
        }
        Thread.sleep(250);
      }
      throw new AssertionError("the demo did not serve within " + UP_WITHIN + ":\n" + output());
    }

    /** Until the terminal shows {@code text}; what it shows. */
    String awaitText(String text) throws InterruptedException {
      long deadline = System.nanoTime() + UP_WITHIN.toNanos();
      while (System.nanoTime() < deadline) {
        String o = output();
        if (o.contains(text)) {
          return o;
        }
        if (!process.isAlive()) {
          throw new AssertionError("the demo exited with " + process.exitValue() + ":\n" + o);
        }
        Thread.sleep(250);
      }
      throw new AssertionError("the demo did not show '" + text + "' within " + UP_WITHIN + ":\n" + output());
    }

    /** Keys typed on the terminal. */
    void type(String keys) throws IOException {
      OutputStream keyboard = process.getOutputStream();
      keyboard.write(keys.getBytes(StandardCharsets.ISO_8859_1));
      keyboard.flush();
    }

    /** What the keyboard's Ctrl-C sends: the terminal turns it into SIGINT to its foreground process group. */
    void ctrlC() throws IOException {
      OutputStream keyboard = process.getOutputStream();
      keyboard.write(3);
      keyboard.flush();
    }
  }
}
