package io.mpqemu.agent.qemu;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.mpqemu.testing.Await;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout.ThreadMode;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class BootImageTest {

  private static final String QEMU = "qemu-system-x86_64";

  @TempDir Path dir;

  private final List<Process> started = new ArrayList<>();

  @AfterEach
  void killLeftovers() throws InterruptedException {
    for (Process process : started) {
      process.destroyForcibly();
      process.waitFor(5, TimeUnit.SECONDS);
    }
  }

  @Test
  @DisplayName("the image is 1 MiB with a boot signature and the message inside its first sector")
  void layout() throws IOException {
    Path image = dir.resolve("boot.img");
    BootImage.writeRaw(image, "hello from the boot sector", true);

    byte[] bytes = Files.readAllBytes(image);
    assertThat(bytes).hasSize(BootImage.SIZE);
    assertThat(bytes[510]).isEqualTo((byte) 0x55);
    assertThat(bytes[511]).isEqualTo((byte) 0xAA);
    assertThat(new String(bytes, 0, 510, StandardCharsets.ISO_8859_1)).contains("hello from the boot sector\r\n\0");
  }

  @Test
  @DisplayName("a message of 400 printable characters fits; longer or non-printable messages are refused")
  void messageLimits() {
    assertThat(BootImage.bootSector("~".repeat(400), true)).hasSize(512);
    assertThatThrownBy(() -> BootImage.bootSector("x".repeat(401), false))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> BootImage.bootSector("line\nbreak", false))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> BootImage.bootSector("caf\u00e9", false))
        .isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  @DisplayName("booted in real QEMU, the halting image prints its message to COM1 and keeps running")
  void haltingImagePrintsAndStays() throws Exception {
    Path image = dir.resolve("halt.img");
    Path serial = dir.resolve("serial.log");
    BootImage.writeRaw(image, "halting image says hi", false);

    Process qemu = start("pc", image, serial, List.of());

    assertThat(waitForText(serial, "halting image says hi\r\n", 8_000)).isTrue();
    assertThat(qemu.waitFor(500, TimeUnit.MILLISECONDS)).as("QEMU still running after the halt").isFalse();
  }

  @ParameterizedTest(name = "machine {0}")
  @Timeout(value = 15, threadMode = ThreadMode.SEPARATE_THREAD)
  @ValueSource(strings = {"pc", "q35"})
  @DisplayName("booted in real QEMU, the power-off image prints and QEMU exits 0 on a guest shutdown")
  void powerOffImageShutsQemuDown(String machine) throws Exception {
    Path image = dir.resolve("off.img");
    Path serial = dir.resolve("serial.log");
    BootImage.writeRaw(image, "powering off now", true);

    // Paused (-S) until QMP is ready, so the SHUTDOWN event cannot happen before we listen.
    Process qemu = start(machine, image, serial, List.of("-S", "-qmp", "stdio"));
    List<String> qmp = new ArrayList<>();
    try (BufferedReader out = new BufferedReader(
            new InputStreamReader(qemu.getInputStream(), StandardCharsets.UTF_8));
        OutputStream in = qemu.getOutputStream()) {
      qmp.add(out.readLine()); // greeting
      in.write("{\"execute\":\"qmp_capabilities\"}\n{\"execute\":\"cont\"}\n".getBytes(StandardCharsets.UTF_8));
      in.flush();
      for (String line = out.readLine(); line != null; line = out.readLine()) {
        qmp.add(line);
      }
    }

    assertThat(qemu.waitFor(8, TimeUnit.SECONDS)).as("QEMU exits by itself").isTrue();
    assertThat(qemu.exitValue()).isZero();
    assertThat(qmp).anySatisfy(line -> assertThat(line)
        .contains("\"event\": \"SHUTDOWN\"")
        .contains("\"guest\": true")
        .contains("\"reason\": \"guest-shutdown\""));
    assertThat(Files.readString(serial, StandardCharsets.US_ASCII)).isEqualTo("powering off now\r\n");
  }

  @Test
  @DisplayName("a data disk is 1 MiB, not bootable, and starts with MPQD, its message and a NUL")
  void dataDiskLayout() throws IOException {
    Path image = dir.resolve("data.img");
    BootImage.writeDataDisk(image, "data disk says hi");

    byte[] bytes = Files.readAllBytes(image);
    assertThat(bytes).hasSize(BootImage.SIZE);
    assertThat(new String(bytes, 0, 22, StandardCharsets.ISO_8859_1)).isEqualTo("MPQDdata disk says hi\0");
    assertThat(bytes[510]).isZero();
    assertThat(bytes[511]).isZero();
    assertThat(BootImage.dataSector("~".repeat(400))).hasSize(512);
  }

  @Test
  @DisplayName("a chain reader is 1 MiB with a boot signature and its message inside its first sector")
  void chainReaderLayout() throws IOException {
    Path image = dir.resolve("chain.img");
    BootImage.writeChainReader(image, "chain reader says hi");

    byte[] bytes = Files.readAllBytes(image);
    assertThat(bytes).hasSize(BootImage.SIZE);
    assertThat(bytes[510]).isEqualTo((byte) 0x55);
    assertThat(bytes[511]).isEqualTo((byte) 0xAA);
    assertThat(new String(bytes, 0, 510, StandardCharsets.ISO_8859_1)).contains("chain reader says hi\r\n\0");
    byte[] longest = BootImage.chainReaderSector("~".repeat(400));
    assertThat(longest).hasSize(512);
    assertThat(longest[509]).isZero();
  }

  @Test
  @DisplayName("data disk and chain reader messages that are too long or not printable ASCII are refused")
  void dataDiskMessageLimits() {
    for (String bad : new String[] {"x".repeat(401), "line\nbreak", "caf\u00e9", "nul\0"}) {
      assertThatThrownBy(() -> BootImage.writeDataDisk(dir.resolve("bad.img"), bad))
          .isInstanceOf(IllegalArgumentException.class);
      assertThatThrownBy(() -> BootImage.writeChainReader(dir.resolve("bad.img"), bad))
          .isInstanceOf(IllegalArgumentException.class);
    }
    assertThatThrownBy(() -> BootImage.writeDataDisk(dir.resolve("bad.img"), null))
        .isInstanceOf(IllegalArgumentException.class);
    assertThat(dir.resolve("bad.img")).doesNotExist();
  }

  @Test
  @DisplayName("booted in real QEMU, the chain reader prints its message and a second IDE disk's message")
  void chainReaderReadsIdeDataDisk() throws Exception {
    Path boot = dir.resolve("chain.img");
    Path data = dir.resolve("data.img");
    Path serial = dir.resolve("serial.log");
    BootImage.writeChainReader(boot, "chain reader up");
    BootImage.writeDataDisk(data, "read from the IDE data disk");

    Process qemu = start("pc", boot, serial, List.of("-drive", "file=" + data + ",format=raw,if=ide"));

    String expected = "chain reader up\r\nread from the IDE data disk\r\n";
    assertThat(waitForText(serial, expected, 8_000)).isTrue();
    assertThat(qemu.waitFor(300, TimeUnit.MILLISECONDS)).as("QEMU still running after the halt").isFalse();
    assertThat(Files.readString(serial, StandardCharsets.US_ASCII)).isEqualTo(expected);
  }

  @ParameterizedTest(name = "machine {0}")
  @ValueSource(strings = {"pc", "q35"})
  @DisplayName("booted in real QEMU, the chain reader prints the messages of NVMe and virtio-blk data disks")
  void chainReaderReadsPciDataDisks(String machine) throws Exception {
    Path boot = dir.resolve("chain.img");
    Path nvme = dir.resolve("nvme.img");
    Path virtio = dir.resolve("virtio.img");
    Path serial = dir.resolve("serial.log");
    BootImage.writeChainReader(boot, "chain reader up");
    BootImage.writeDataDisk(nvme, "read through nvme");
    BootImage.writeDataDisk(virtio, "read through virtio-blk");

    Process qemu = start(machine, boot, serial, List.of(
        "-drive", "file=" + nvme + ",format=raw,if=none,id=d1", "-device", "nvme,drive=d1,serial=d1",
        "-drive", "file=" + virtio + ",format=raw,if=none,id=d2", "-device", "virtio-blk-pci,drive=d2"));

    // The BIOS numbers the drives; the order of the two data disks' lines is not asserted.
    assertThat(waitForText(serial, "read through nvme\r\n", 8_000)).isTrue();
    assertThat(waitForText(serial, "read through virtio-blk\r\n", 2_000)).isTrue();
    assertThat(qemu.waitFor(300, TimeUnit.MILLISECONDS)).as("QEMU still running after the halt").isFalse();
    String output = Files.readString(serial, StandardCharsets.US_ASCII);
    assertThat(output).startsWith("chain reader up\r\n").hasSize(
        "chain reader up\r\nread through nvme\r\nread through virtio-blk\r\n".length());
  }

  private Process start(String machine, Path image, Path serial, List<String> extra) throws IOException {
    List<String> command = new ArrayList<>(List.of(
        QEMU, "-machine", machine, "-accel", "tcg", "-nodefaults", "-no-user-config", "-display", "none",
        "-drive", "file=" + image + ",format=raw,if=ide",
        "-chardev", "file,id=s,path=" + serial, "-serial", "chardev:s"));
    command.addAll(extra);
    ProcessBuilder builder = new ProcessBuilder(command).redirectError(dir.resolve("qemu.err").toFile());
    if (!extra.contains("stdio")) {
      builder.redirectOutput(dir.resolve("qemu.out").toFile());
    }
    Process process = builder.start();
    started.add(process);
    return process;
  }

  private static boolean waitForText(Path file, String text, long millis) {
    return Await.atMost(Duration.ofMillis(millis)).every(Duration.ofMillis(50))
        .poll(() -> Files.exists(file) ? Files.readString(file, StandardCharsets.ISO_8859_1) : "", t -> t.contains(text))
        .contains(text);
  }
}
