package io.mpqemu.agent.confine;

import io.mpqemu.agent.sys.Fd;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The mount namespace confined QEMU processes start from (built by {@code view.sh}): made once at
 * start-up and held open by a descriptor of the agent, so it needs no mount on the host and goes
 * away with the agent. Each process enters it and then takes a private copy ({@code unshare
 * --mount}), so what one process mounts no other sees. Processes already running keep their copy
 * when the agent restarts.
 */
public final class ProcessView implements AutoCloseable {

  private static final String SCRIPT = readScript();

  private final Fd namespace;

  private ProcessView(Fd namespace) {
    this.namespace = namespace;
  }

  /**
   * Builds the view on the empty directory {@code mountPoint} (a mount point inside the new
   * namespace only), with /dev/kvm when {@code kvm}, and {@code extraFiles} at their own paths.
   * Blocking; needs root.
   */
  public static ProcessView build(Path mountPoint, boolean kvm, List<Path> extraFiles) throws IOException {
    Files.createDirectories(mountPoint, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
    List<String> argv = new ArrayList<>(List.of("unshare", "--mount", "--propagation", "private", "--",
        "/bin/sh", "-c", SCRIPT, "mpqemu-view", mountPoint.toString(), kvm ? "kvm" : "nokvm"));
    extraFiles.forEach(f -> argv.add(f.toString()));
    Process p = new ProcessBuilder(argv).redirectErrorStream(true).start();
    try (OutputStream hold = p.getOutputStream();
        BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
      StringBuilder said = new StringBuilder();
      for (String line = out.readLine(); line != null; line = out.readLine()) {
        if (line.equals("ready")) {
          return new ProcessView(Fd.open(Path.of("/proc/" + p.pid() + "/ns/mnt"), false));
        }
        said.append(line).append('\n');
      }
      throw new IOException("could not build the confined processes' view of the file system: " + said.toString().strip());
    } finally {
      reap(p);
    }
  }

  /** The path {@code nsenter --mount=} takes to enter the view: this agent's own descriptor of it. */
  public String enterPath() {
    return "/proc/" + ProcessHandle.current().pid() + "/fd/" + namespace.number();
  }

  @Override
  public void close() {
    namespace.close();
  }

  private static void reap(Process p) {
    try {
      if (!p.waitFor(10, TimeUnit.SECONDS)) {
        p.destroyForcibly();
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      p.destroyForcibly();
    }
  }

  private static String readScript() {
    try (InputStream in = ProcessView.class.getResourceAsStream("view.sh")) {
      if (in == null) {
        throw new IllegalStateException("view.sh is missing from the agent's jar");
      }
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new IllegalStateException("cannot read view.sh", e);
    }
  }
}
