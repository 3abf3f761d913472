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
 * kvm group): first asking it over QMP whether KVM is enabled, then running a guest that does what a
 * Linux kernel does early (long mode, an int3 through a 64-bit IDT, {@code lock cmpxchg16b},
 * {@code xrstor}: {@code src/main/asm/kvm-probe.S}). Some nested hypervisors (PVM) open KVM and run boot
 * sectors but end such a guest in "KVM internal error": KVM is chosen only when the guest runs to its end.
 * Blocking; a few seconds at most.
 */
public final class QemuProbe {

  /** What was found. {@code kvmDetail} says why KVM is not used when it is not. */
  public record Result(String version, boolean multiprocess, Accelerator accelerator, String kvmDetail) {}

  private static final long TIMEOUT_SECONDS = 20;
  /** What the probe guest is given to run to its end: milliseconds on a KVM that works. */
  static final long GUEST_MILLIS = 5000;
  /** isa-debug-exit's status for the guest's value 0x31: (0x31 << 1) | 1. */
  static final int GUEST_DONE = 99;

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
      return new Result(version, multiprocess, Accelerator.KVM, "KVM is usable: it ran the probe guest (long mode,"
          + " int3, cmpxchg16b, xrstor) to its end");
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
      return guestProblem();
    }
    String hint = out.contains("Permission denied")
        ? " (VMs open /dev/kvm through the kvm group: deploy/install-deps.sh makes it 0660 root:kvm)" : "";
    return "QEMU could not enable KVM: " + firstLine(out) + hint;
  }

  /** Null when the probe guest runs to its end under KVM, otherwise why it did not. */
  private String guestProblem() throws IOException {
    Outcome outcome = runGuest("kvm");
    if (outcome.done()) {
      return null;
    }
    if (outcome.output().contains("KVM internal error")) {
      return "KVM cannot run a 64-bit guest kernel here: the probe guest (long mode, int3, cmpxchg16b, xrstor) ended"
          + " in '" + firstLineWith(outcome.output(), "KVM internal error") + "', as under a nested hypervisor that runs"
          + " only boot sectors (such as PVM)";
    }
    return "the probe guest (long mode, int3, cmpxchg16b, xrstor) did not run to its end under KVM within "
        + GUEST_MILLIS + " ms: " + firstLine(outcome.output());
  }

  /** What the probe guest did under {@code accel}: whether it ran to its end, and what QEMU printed. */
  record Outcome(boolean done, String output) {}

  /**
   * Runs the probe guest under {@code accel} as a main QEMU would: the guest is firmware (64 KiB, in place
   * of the BIOS), handed over as standard input, which QEMU reads by name as {@code /proc/self/fd/0} (a
   * confined QEMU sees no host file), read-only.
   */
  Outcome runGuest(String accel) throws IOException {
    Path image = Files.createTempFile("mpqemu-kvm-probe", ".img");
    try {
      try (InputStream guest = QemuProbe.class.getResourceAsStream("kvm-probe.bin")) {
        if (guest == null) {
          throw new IOException("kvm-probe.bin is missing from the agent's jar");
        }
        Files.write(image, guest.readAllBytes());
      }
      Files.setPosixFilePermissions(image, java.nio.file.attribute.PosixFilePermissions.fromString("rw-r--r--"));
      ProcessBuilder pb = new ProcessBuilder(asMainWould.apply(List.of(qemu.toString(), "-machine", "pc", "-accel", accel,
          "-m", "16", "-nodefaults", "-no-user-config", "-display", "none", // no serial: a confined QEMU cannot reopen the pipe
          "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04",
          "-bios", "/proc/self/fd/0")))
          .redirectErrorStream(true).redirectInput(image.toFile());
      Process p = pb.start();
      StringBuffer output = new StringBuffer();
      Thread reader = new Thread(() -> {
        try (InputStream out = p.getInputStream()) {
          byte[] buffer = new byte[4096];
          for (int n; (n = out.read(buffer)) > 0; ) {
            output.append(new String(buffer, 0, n, StandardCharsets.UTF_8));
          }
        } catch (IOException e) {
          // QEMU is gone
        }
      }, "qemu-probe-output");
      reader.setDaemon(true);
      reader.start();
      try {
        long end = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(GUEST_MILLIS);
        // a guest KVM could not run leaves QEMU up, paused: its message is the answer
        while (p.isAlive() && System.nanoTime() < end && output.indexOf("KVM internal error") < 0) {
          p.waitFor(20, TimeUnit.MILLISECONDS);
        }
        if (p.isAlive()) {
          Thread.sleep(100); // the rest of the message
          p.destroyForcibly();
        }
        p.waitFor(TIMEOUT_SECONDS, TimeUnit.SECONDS);
        reader.join(1000);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        p.destroyForcibly();
        throw new IOException("interrupted while probing QEMU", e);
      }
      String printed = output.toString();
      return new Outcome(!p.isAlive() && p.exitValue() == GUEST_DONE, printed); // only the guest's last out makes 99
    } finally {
      Files.deleteIfExists(image);
    }
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

  private static String firstLineWith(String s, String text) {
    return s.lines().filter(l -> l.contains(text)).findFirst().orElse(text).strip();
  }

  private static String firstLine(String s) {
    String t = s.strip();
    int nl = t.indexOf('\n');
    return nl < 0 ? t : t.substring(0, nl);
  }
}
