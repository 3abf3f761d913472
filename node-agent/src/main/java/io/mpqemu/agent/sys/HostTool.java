package io.mpqemu.agent.sys;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Runs one of the host's tools (qemu-img, genisoimage, ip) with a fixed argument list the agent builds, never
 * through a shell, and waits for it with a deadline. Blocking: run it off the event loop.
 */
public final class HostTool {

  /** What the tool said (stdout and stderr together) when it exited 0. */
  public record Done(String output) {}

  private HostTool() {}

  /**
   * @throws ToolFailed when it exits non-zero or outlives {@code seconds} (it is killed), with what it said
   * @throws IOException when it cannot be started (not installed)
   */
  public static Done run(List<String> argv, int seconds) throws IOException, ToolFailed {
    Process p = new ProcessBuilder(argv).redirectErrorStream(true).redirectInput(ProcessBuilder.Redirect.from(
        new java.io.File("/dev/null"))).start();
    try {
      String said = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
      if (!p.waitFor(seconds, TimeUnit.SECONDS)) {
        p.destroyForcibly();
        throw new ToolFailed(argv.get(0) + " did not finish within " + seconds + " s");
      }
      if (p.exitValue() != 0) {
        throw new ToolFailed(said.isEmpty() ? argv.get(0) + " exited " + p.exitValue() : said);
      }
      return new Done(said);
    } catch (InterruptedException e) {
      p.destroyForcibly();
      Thread.currentThread().interrupt();
      throw new IOException("interrupted while " + argv.get(0) + " ran", e);
    }
  }

  /** The tool ran and failed; the message is what it said. */
  public static final class ToolFailed extends Exception {
    private static final long serialVersionUID = 1L;

    ToolFailed(String message) {
      super(message);
    }
  }
}
