package io.mpqemu.testing;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.File;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * {@code promtool check metrics}, the Prometheus project's own checker of the text format, over what
 * a /metrics answered. Absent promtool fails the test: it comes with Debian's prometheus package,
 * which deploy/install-deps.sh --tests installs.
 */
public final class Promtool {

  /** What promtool said: its exit status and its output (errors and lint problems, one a line). */
  public record Result(int exitCode, String output) {
    /** Lines that name a metric family starting with {@code prefix}. */
    public List<String> problemsOf(String prefix) {
      return output.lines().filter(l -> l.startsWith(prefix)).toList();
    }
  }

  private Promtool() {}

  /** Runs {@code promtool check metrics} on {@code text}; fails the test if promtool is not installed. */
  public static Result checkMetrics(String text) throws IOException, InterruptedException {
    Process p = new ProcessBuilder(binary().toString(), "check", "metrics").redirectErrorStream(true).start();
    CompletableFuture<String> output = CompletableFuture.supplyAsync(() -> {
      try {
        return new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      } catch (IOException e) {
        throw new IllegalStateException(e);
      }
    });
    try (OutputStream in = p.getOutputStream()) {
      in.write(text.getBytes(StandardCharsets.UTF_8));
    }
    if (!p.waitFor(30, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      throw new AssertionError("promtool check metrics did not finish within 30 s");
    }
    return new Result(p.exitValue(), output.join());
  }

  private static Path binary() {
    String path = System.getenv().getOrDefault("PATH", "");
    Path found = Arrays.stream(path.split(File.pathSeparator)).filter(d -> !d.isEmpty()).map(d -> Path.of(d, "promtool"))
        .filter(Files::isExecutable).findFirst().orElse(null);
    assertThat(found).as("promtool is not on the PATH (" + path + "): run deploy/install-deps.sh --tests as root; it installs"
        + " Debian's prometheus package, whose promtool checks what /metrics serves").isNotNull();
    return found;
  }
}
