package io.mpqemu.agent.qemu;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** Runs the real {@code qemu-img} for a test and fails the test, with its output, when it fails. */
public final class QemuImg {

  private QemuImg() {}

  public static void run(String... args) throws IOException, InterruptedException {
    List<String> cmd = new ArrayList<>(List.of("qemu-img"));
    cmd.addAll(List.of(args));
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes());
    if (!p.waitFor(30, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      throw new AssertionError("qemu-img " + String.join(" ", args) + " did not finish within 30 s");
    }
    assertThat(p.exitValue()).as("qemu-img " + String.join(" ", args) + ": " + out).isZero();
  }
}
