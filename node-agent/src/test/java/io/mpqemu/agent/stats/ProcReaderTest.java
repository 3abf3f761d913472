package io.mpqemu.agent.stats;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The /proc reader against this test's own JVM, a real process, and against stat lines made to trip a naive parser. */
class ProcReaderTest {

  private final ProcReader reader = new ProcReader();

  @Test
  @DisplayName("this JVM, after burning CPU, shows CPU seconds close to what its MXBean counts, and more than 10 MiB resident")
  void ownProcess() {
    burnCpu(300);
    long pid = ProcessHandle.current().pid();

    ProcessFigures before = reader.read(pid).orElseThrow();
    double jvm = ((com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean())
        .getProcessCpuTime() / 1e9;
    ProcessFigures after = reader.read(pid).orElseThrow();

    assertThat(before.cpuSeconds()).isGreaterThan(0.2);
    assertThat(after.cpuSeconds()).isGreaterThanOrEqualTo(before.cpuSeconds());
    // the kernel's ticks and the JVM's nanoseconds are one account: /proc is only coarser
    assertThat(jvm).isBetween(before.cpuSeconds() - 0.5, after.cpuSeconds() + 0.5);
    assertThat(before.rssBytes()).isGreaterThan(10L * 1024 * 1024);
    assertThat(before.cgroupMemoryBytes()).as("no cgroup reader here").isZero();
  }

  @Test
  @DisplayName("a pid no process has, or can have, gives no figures and no exception")
  void missingProcess() throws Exception {
    // not Files.readString: it reads a file of size 0 a byte first, and a sysctl read at offset 1 is EOF
    long pidMax = Long.parseLong(Files.readAllLines(Path.of("/proc/sys/kernel/pid_max")).get(0).trim());

    assertThat(reader.read(pidMax + 1)).isEmpty();
    assertThat(reader.read(0)).isEmpty();
    assertThat(reader.read(-1)).isEmpty();
  }

  @Test
  @DisplayName("a child that exited and was reaped gives no figures")
  void exitedChild() throws Exception {
    Process child = new ProcessBuilder("true").start();
    child.waitFor();

    assertThat(reader.read(child.pid())).isEmpty();
  }

  @Test
  @DisplayName("CPU seconds are read after the last ')', whatever spaces and parentheses comm holds")
  void commWithSpacesAndParentheses(@TempDir Path proc) throws Exception {
    Path dir = Files.createDirectories(proc.resolve("42"));
    // fields 3..15: state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime
    Files.write(dir.resolve("stat"), "42 (qemu) (x 1 2) S 1 42 42 0 -1 4194560 100 0 0 0 1234 567 0 0 20 0 3 0 99\n"
        .getBytes(StandardCharsets.ISO_8859_1));
    Files.writeString(dir.resolve("status"), "Name:\tqemu) (x 1 2\nState:\tS (sleeping)\nVmRSS:\t   20480 kB\nThreads:\t3\n");

    ProcessFigures f = new ProcReader(proc).read(42).orElseThrow();

    assertThat(f.cpuSeconds()).isCloseTo(18.01, within(1e-9));
    assertThat(f.rssBytes()).isEqualTo(20480L * 1024);
  }

  @Test
  @DisplayName("a process without VmRSS (a zombie) has 0 resident bytes; comm bytes that are not UTF-8 do not fail the read")
  void zombieAndOddBytes(@TempDir Path proc) throws Exception {
    Path dir = Files.createDirectories(proc.resolve("7"));
    byte[] stat = "7 (\u00ff\u00fe) Z 1 7 7 0 -1 4194308 0 0 0 0 3 1 0 0 20 0 1 0 5\n".getBytes(StandardCharsets.ISO_8859_1);
    Files.write(dir.resolve("stat"), stat);
    Files.writeString(dir.resolve("status"), "Name:\tx\nState:\tZ (zombie)\n");

    ProcessFigures f = new ProcReader(proc).read(7).orElseThrow();

    assertThat(f.cpuSeconds()).isCloseTo(0.04, within(1e-9));
    assertThat(f.rssBytes()).isZero();
  }

  @Test
  @DisplayName("a cgroup reader's figure is added to every sample it is plugged into")
  void cgroupHook() {
    FigureReader withCgroup = reader.withCgroupMemory(pid -> 4096);

    assertThat(withCgroup.read(ProcessHandle.current().pid()).orElseThrow().cgroupMemoryBytes()).isEqualTo(4096);
    assertThat(withCgroup.read(0)).isEmpty();
  }

  private static void burnCpu(long millis) {
    long until = System.nanoTime() + millis * 1_000_000;
    long x = 0;
    while (System.nanoTime() < until) {
      x += Long.numberOfTrailingZeros(x + System.nanoTime());
    }
    assertThat(x).isNotNegative();
  }
}
