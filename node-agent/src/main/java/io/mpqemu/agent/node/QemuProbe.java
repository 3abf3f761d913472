package io.mpqemu.agent.node;

import io.mpqemu.agent.qemu.QemuCommandLine.Accelerator;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.UnaryOperator;

/**
 * Asks the QEMU binary what it can do, once at start-up: its version, whether multi-process support
 * is compiled in (x-remote machine, x-pci-proxy-dev, x-remote-object), and whether KVM works, by
 * starting QEMU with {@code -accel kvm} as a VM's main QEMU would run (confined, under its uid, with the
 * kvm group) and asking it over QMP: KVM is chosen only if the VMs can open it. Blocking.
 */
public final class QemuProbe {

  /** What was found. {@code kvmDetail} says why KVM is not used when it is not. */
  public record Result(String version, boolean multiprocess, Accelerator accelerator, String kvmDetail) {}

  private static final long TIMEOUT_SECONDS = 20;

  private final Path qemu;
  private final UnaryOperator<List<String>> asMainWould;

  /** @param asMainWould runs a command as a VM's main QEMU would run: confined, when VMs are */
  public QemuProbe(Path qemu, UnaryOperator<List<String>> asMainWould) {
    this.qemu = qemu;
    this.asMainWould = asMainWould;
  }

  /** @param wanted auto, kvm or tcg */
  public Result probe(String wanted) throws IOException {
    String version = firstLine(run(List.of(qemu.toString(), "--version")));
    boolean multiprocess = run(List.of(qemu.toString(), "-machine", "help")).contains("x-remote")
        && run(List.of(qemu.toString(), "-device", "help")).contains("x-pci-proxy-dev")
        && run(List.of(qemu.toString(), "-object", "help")).contains("x-remote-object");
    if (wanted.equals("tcg")) {
      return new Result(version, multiprocess, Accelerator.TCG, "TCG chosen by configuration");
    }
    String kvmProblem = kvmProblem();
    if (kvmProblem == null) {
      return new Result(version, multiprocess, Accelerator.KVM, "KVM is usable");
    }
    if (wanted.equals("kvm")) {
      throw new IOException("accelerator kvm was asked for but KVM is not usable: " + kvmProblem);
    }
    return new Result(version, multiprocess, Accelerator.TCG, "KVM not usable (" + kvmProblem + "), using TCG");
  }

  /** Null when KVM works, otherwise why not. */
  private String kvmProblem() throws IOException {
    Path dev = Path.of("/dev/kvm");
    if (!Files.exists(dev)) {
      return "/dev/kvm does not exist";
    }
    String qmp = "{\"execute\":\"qmp_capabilities\"}\n{\"execute\":\"query-kvm\"}\n{\"execute\":\"quit\"}\n";
    // A real pc machine with the CPU model VMs get: on some nested hosts KVM opens but cannot run
    // every CPU model (-cpu max/host abort on an MSR write there), so probing -machine none is not enough.
    String out = run(asMainWould.apply(List.of(qemu.toString(), "-machine", "pc", "-accel", "kvm", "-m", "16", "-nodefaults",
        "-no-user-config", "-display", "none", "-S", "-qmp", "stdio")), qmp);
    if (out.contains("\"enabled\": true") && out.contains("\"present\": true")) {
      return null;
    }
    String hint = out.contains("Permission denied")
        ? " (VMs open /dev/kvm through the kvm group: deploy/install-deps.sh makes it 0660 root:kvm)" : "";
    return "QEMU could not enable KVM: " + firstLine(out) + hint;
  }

  private String run(List<String> argv) throws IOException {
    return run(argv, null);
  }

  private String run(List<String> argv, String stdin) throws IOException {
    Process p = new ProcessBuilder(argv).redirectErrorStream(true).start();
    try (OutputStream in = p.getOutputStream()) {
      if (stdin != null) {
        in.write(stdin.getBytes(StandardCharsets.UTF_8));
      }
    }
    try (InputStream out = p.getInputStream()) {
      byte[] bytes = out.readAllBytes();
      if (!p.waitFor(TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
        p.destroyForcibly();
        throw new IOException(String.join(" ", argv) + " did not finish within " + TIMEOUT_SECONDS + " s");
      }
      return new String(bytes, StandardCharsets.UTF_8);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      p.destroyForcibly();
      throw new IOException("interrupted while probing QEMU", e);
    }
  }

  private static String firstLine(String s) {
    String t = s.strip();
    int nl = t.indexOf('\n');
    return nl < 0 ? t : t.substring(0, nl);
  }
}
