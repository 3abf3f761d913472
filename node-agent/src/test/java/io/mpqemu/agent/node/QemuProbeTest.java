package io.mpqemu.agent.node;

import static org.assertj.core.api.Assertions.assertThat;

import io.mpqemu.agent.qemu.QemuCommandLine.Accelerator;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The accelerator probe against the real QEMU: its guest is its source assembled, runs to its end where
 * the CPU is emulated, and KVM is chosen exactly when that guest runs to its end under KVM, with the
 * reason said either way. (On this machine kind, whose /dev/kvm is a nested PVM, the guest ends in
 * "KVM internal error" and auto means TCG.)
 */
class QemuProbeTest {

  private static final Path QEMU = Path.of("qemu-system-x86_64");
  private static final UnaryOperator<List<String>> UNCONFINED = argv -> argv;

  @TempDir
  Path dir;

  @Test
  @DisplayName("kvm-probe.bin is src/main/asm/kvm-probe.S assembled")
  void theGuestIsItsSource() throws Exception {
    Path object = dir.resolve("probe.o");
    Path binary = dir.resolve("probe.bin");
    run(List.of("as", "--64", "-o", object.toString(), Path.of("src/main/asm/kvm-probe.S").toAbsolutePath().toString()));
    run(List.of("ld", "-m", "elf_x86_64", "-Ttext=0xf0000", "--oformat=binary", "-o", binary.toString(), object.toString()));
    assertThat(Files.readAllBytes(binary)).hasSize(65536).isEqualTo(guest());
  }

  @Test
  @DisplayName("the probe guest runs to its end under TCG: it exits QEMU with 99, and says so on a serial port")
  void theGuestRunsUnderTcg() throws Exception {
    QemuProbe.Outcome outcome = new QemuProbe(QEMU, UNCONFINED).runGuest("tcg");
    assertThat(outcome.done()).as(outcome.output()).isTrue();
    // the same guest with a serial port (the probe has none: a confined QEMU cannot reopen its stdout)
    Path image = dir.resolve("probe.img");
    Files.write(image, guest());
    Process p = new ProcessBuilder(QEMU.toString(), "-machine", "pc", "-accel", "tcg", "-m", "16", "-nodefaults",
        "-no-user-config", "-display", "none", "-serial", "stdio", "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04",
        "-bios", image.toString()).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes());
    assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
    assertThat(p.exitValue()).isEqualTo(99);
    assertThat(out).contains("mpqemu-probe-ok");
  }

  @Test
  @DisplayName("auto picks KVM exactly when the probe guest runs to its end under KVM, and says why")
  void autoPicksKvmOnlyWhenItRunsAKernel() throws Exception {
    QemuProbe probe = new QemuProbe(QEMU, UNCONFINED);
    QemuProbe.Result picked = probe.probe("auto");
    boolean kvmOpens = Files.isWritable(Path.of("/dev/kvm"));
    boolean guestRuns = kvmOpens && probe.runGuest("kvm").done();
    assertThat(picked.accelerator()).as(picked.kvmDetail()).isEqualTo(guestRuns ? Accelerator.KVM : Accelerator.TCG);
    if (guestRuns) {
      assertThat(picked.kvmDetail()).startsWith("KVM is usable: it ran the probe guest");
    } else if (kvmOpens) {
      assertThat(picked.kvmDetail()).startsWith("KVM not usable (").endsWith("), using TCG")
          .containsAnyOf("KVM cannot run a 64-bit guest kernel here", "did not run to its end under KVM");
    }
  }

  @Test
  @DisplayName("tcg asked for is TCG without a probe; kvm asked for where the guest cannot run is refused")
  void configuredAccelerators() throws Exception {
    QemuProbe probe = new QemuProbe(QEMU, UNCONFINED);
    assertThat(probe.probe("tcg").accelerator()).isEqualTo(Accelerator.TCG);
    if (Files.isWritable(Path.of("/dev/kvm")) && !probe.runGuest("kvm").done()) {
      org.assertj.core.api.Assertions.assertThatThrownBy(() -> probe.probe("kvm")).isInstanceOf(IOException.class)
          .hasMessageContaining("accelerator kvm was asked for but KVM is not usable");
    }
  }

  private static byte[] guest() throws IOException {
    try (InputStream in = QemuProbe.class.getResourceAsStream("kvm-probe.bin")) {
      return in.readAllBytes();
    }
  }

  private static void run(List<String> argv) throws Exception {
    Process p = new ProcessBuilder(argv).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes());
    assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
    assertThat(p.exitValue()).as(String.join(" ", argv) + ": " + out).isZero();
  }
}
