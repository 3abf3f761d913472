package io.mpqemu.agent.qemu;

import static org.assertj.core.api.Assertions.assertThat;

import io.mpqemu.agent.images.ImageOpener;
import io.mpqemu.agent.images.OpenImage;
import io.mpqemu.agent.process.PosixSpawnLauncher;
import io.mpqemu.agent.process.RunningProcess;
import io.mpqemu.agent.qemu.QemuCommandLine.Accelerator;
import io.mpqemu.agent.state.ConsoleLog;
import io.mpqemu.agent.state.VmPaths;
import io.mpqemu.agent.sys.Fd;
import io.mpqemu.agent.unix.OpenDescriptors;
import io.mpqemu.spec.NodeLimits;
import io.mpqemu.spec.SpecValidator;
import io.mpqemu.v1.Disk;
import io.mpqemu.v1.ProxiedDevice;
import io.mpqemu.v1.VmSpec;
import io.vertx.core.json.JsonObject;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout.ThreadMode;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.newsclub.net.unix.AFUNIXSocket;
import org.newsclub.net.unix.AFUNIXSocketAddress;
import org.newsclub.net.unix.AFUNIXSocketChannel;
import org.newsclub.net.unix.AFUNIXSocketPair;
import org.newsclub.net.unix.FileDescriptorCast;

/**
 * Runs the argv that {@link QemuCommandLine} builds in real QEMU (TCG): one remote process with its
 * socket end as stdin, the paused main QEMU, the proxy added over QMP with {@code getfd} and
 * {@code device_add}; the guest boots from the proxied disk, prints to the console log and powers off.
 */
class QemuCommandLineRealQemuTest {

  private static final String MESSAGE = "booted through a proxied device";
  private static final String OVERLAY = "qcow2 over raw";

  @TempDir Path dir;

  private final List<Process> started = new ArrayList<>();
  private final List<RunningProcess> spawned = new ArrayList<>();
  private final List<AutoCloseable> toClose = new ArrayList<>();

  @AfterEach
  void cleanUp() throws Exception {
    for (Process process : started) {
      process.destroyForcibly();
      process.waitFor(5, TimeUnit.SECONDS);
    }
    for (RunningProcess process : spawned) {
      process.kill();
      process.onExit().get(5, TimeUnit.SECONDS);
    }
    for (AutoCloseable closeable : toClose) {
      closeable.close();
    }
  }

  static Stream<Arguments> devices() {
    return Stream.of(
        Arguments.of("pc", "lsi53c895a", "raw", false, null),
        Arguments.of("pc", "megasas", "raw", true, 5),
        Arguments.of("q35", "nvme", "qcow2", true, null),
        Arguments.of("pc", "virtio-blk-pci", "qcow2", false, null),
        // a per-VM overlay whose header names no file, over a raw base: the command line chains them
        Arguments.of("pc", "virtio-blk-pci", OVERLAY, false, null));
  }

  @ParameterizedTest(name = "{1} on {0}, {2}, read-only {3}")
  @MethodSource("devices")
  @Timeout(value = 20, threadMode = ThreadMode.SEPARATE_THREAD)
  @DisplayName("real QEMU accepts both argvs and the guest boots from the proxied disk and powers off")
  void bootsThroughProxiedDevice(String machine, String driver, String format, boolean readOnly, Integer scsiId)
      throws Exception {
    boolean overlay = format.equals(OVERLAY);
    Disk.Builder disk = Disk.newBuilder().setId("boot-disk").setImage("vm1/boot.img")
        .setFormat(overlay ? "qcow2" : format).setReadOnly(readOnly);
    if (scsiId != null) {
      disk.setScsiId(scsiId);
    }
    ProxiedDevice device = ProxiedDevice.newBuilder().setId("ctl0").setDriver(driver).addDisks(disk).build();
    VmSpec spec = VmSpec.newBuilder().setName("real").setMemoryMib(64).setMachine(machine).addDevices(device).build();
    SpecValidator.validate(spec, NodeLimits.defaults());
    Path image = writeImage(format);
    VmPaths paths = VmPaths.of(dir.resolve("state"), "vm-1");
    Files.createDirectories(paths.dir());
    QemuCommandLine commandLine = new QemuCommandLine(Path.of("qemu-system-x86_64"));

    AFUNIXSocketPair<AFUNIXSocketChannel> pair = AFUNIXSocketPair.open();
    // Both ends stay open until the processes are gone: closing one shuts the socket down for QEMU too.
    toClose.add(pair.getSocket1());
    toClose.add(pair.getSocket2());
    // the device process: its socket end as fd 0, its log as 1 and 2, its image (opened here) as fd 3
    OpenImage opened = new ImageOpener(dir).open("boot-disk", dir.relativize(image).toString(),
        overlay ? "qcow2" : format, readOnly);
    toClose.add(opened);
    Map<String, List<QemuCommandLine.Base>> bases = overlay ? Map.of("boot-disk", List.of(new QemuCommandLine.Base("raw")))
        : Map.of();
    List<Integer> numbers = QemuCommandLine.descriptors(device, bases).get("boot-disk");
    List<String> expectedOpen = new ArrayList<>(List.of(image.toString(), dir.resolve("remote.log").toString()));
    RunningProcess remote;
    try (Fd log = Fd.appendTo(dir.resolve("remote.log"))) {
      Map<Integer, Fd> fds = new java.util.HashMap<>(Map.of(
          0, Fd.borrow(FileDescriptorCast.using(pair.getSocket2().getFileDescriptor()).as(Integer.class)),
          1, log, 2, log, numbers.get(0), opened.fd()));
      if (overlay) {
        OpenImage base = new ImageOpener(dir).open("boot-disk base", "boot.raw", "raw", true);
        toClose.add(base);
        fds.put(numbers.get(1), base.fd());
        expectedOpen.add(dir.resolve("boot.raw").toString());
      }
      remote = new PosixSpawnLauncher(java.nio.file.Path.of("/usr/bin/qemu-system-x86_64")).start(commandLine.remote(device, bases), fds, List.of());
    }
    spawned.add(remote);
    RunningProcess main = startMain(commandLine.main(spec, Accelerator.TCG), paths);
    assertThat(String.join(" ", Files.readAllLines(Path.of("/proc/" + main.pid() + "/cmdline"))))
        .as("the main QEMU names no file of the state directory").doesNotContain(dir.toString());

    try (AFUNIXSocket qmp = connect(paths.qmpSocket())) {
      qmp.setSoTimeout(10_000);
      BufferedReader in = new BufferedReader(new InputStreamReader(qmp.getInputStream(), StandardCharsets.UTF_8));
      OutputStream out = qmp.getOutputStream();
      assertThat(in.readLine()).contains("\"QMP\"");
      execute(in, out, new JsonObject().put("execute", "qmp_capabilities"));
      // the device process names no file and opened none: it holds what it was given, and what QEMU
      // makes without a path (memfds of guest RAM, eventfds, sockets, pipes)
      assertThat(String.join(" ", Files.readAllLines(Path.of("/proc/" + remote.pid() + "/cmdline"))))
          .doesNotContain(dir.toString());
      assertThat(OpenDescriptors.targets(remote.pid())).filteredOn(t -> t.startsWith("/") && !t.startsWith("/memfd:") && !t.equals("/dev/null"))
          .containsOnlyElementsOf(expectedOpen).contains(image.toString());
      qmp.setOutboundFileDescriptors(pair.getSocket1().getFileDescriptor());
      execute(in, out, new JsonObject().put("execute", "getfd").put("arguments", new JsonObject().put("fdname", "mp0")));
      qmp.setOutboundFileDescriptors();
      execute(in, out, new JsonObject().put("execute", "device_add")
          .put("arguments", QemuCommandLine.proxyDeviceArguments(spec, device, "mp0")));
      execute(in, out, new JsonObject().put("execute", "cont"));
    }

    assertThat(main.onExit().get(10, TimeUnit.SECONDS).code()).as("the guest powers the main QEMU off").contains(0);
    assertThat(Files.readString(paths.consoleLog(), StandardCharsets.US_ASCII)).isEqualTo(MESSAGE + "\r\n");
    assertThat(remote.isAlive()).as("the remote process outlives the main while our end is open").isTrue();
    pair.getSocket1().close();
    pair.getSocket2().close();
    assertThat(remote.onExit().get(5, TimeUnit.SECONDS).code()).as("the remote process exits once its peer is gone")
        .contains(0);
  }

  @Test
  @Timeout(value = 30, threadMode = ThreadMode.SEPARATE_THREAD)
  @DisplayName("the main QEMU serves QMP on the agent's socket to one client after another, logs the console with and"
      + " without a client on its console socket, and its console log can be rotated under it")
  void qmpAndConsoleThroughDescriptors() throws Exception {
    Path raw = dir.resolve("halt.raw");
    BootImage.writeRaw(raw, MESSAGE, false);
    VmSpec spec = VmSpec.newBuilder().setName("fds").setMemoryMib(64).build();
    VmPaths paths = VmPaths.of(dir.resolve("state"), "vm-1");
    Files.createDirectories(paths.dir());
    List<String> argv = new ArrayList<>(new QemuCommandLine(Path.of("qemu-system-x86_64")).main(spec, Accelerator.TCG));
    // a disk of the main QEMU itself, on the pc board's IDE: this test is about QMP and the console
    argv.addAll(List.of("-drive", "file=" + raw + ",format=raw,if=ide"));
    RunningProcess main = startMain(argv, paths);

    session(paths, new JsonObject().put("execute", "query-status"));
    session(paths, new JsonObject().put("execute", "cont"));
    awaitConsole(paths, MESSAGE + "\r\n");
    // rotation copies and truncates: QEMU appends through its descriptor from the new end, no hole
    assertThat(ConsoleLog.rotateIfLarger(paths, 1)).isTrue();
    try (AFUNIXSocket tty = connect(paths.ttySocket())) {
      tty.setSoTimeout(10_000);
      session(paths, new JsonObject().put("execute", "system_reset"));
      byte[] expected = (MESSAGE + "\r\n").getBytes(StandardCharsets.US_ASCII);
      assertThat(tty.getInputStream().readNBytes(expected.length)).as("a client of the console socket reads the output live")
          .isEqualTo(expected);
    }
    awaitConsole(paths, MESSAGE + "\r\n");
    assertThat(Files.readString(paths.consoleLogPrevious(), StandardCharsets.US_ASCII)).isEqualTo(MESSAGE + "\r\n");
    assertThat(OpenDescriptors.of(main.pid())).as("QEMU holds the socket and the log it was given")
        .containsEntry(QemuCommandLine.MAIN_QMP_DESCRIPTOR, socketOf(main.pid(), QemuCommandLine.MAIN_QMP_DESCRIPTOR))
        .containsValue(paths.consoleLog().toString());
    session(paths, new JsonObject().put("execute", "quit"));
    assertThat(main.onExit().get(10, TimeUnit.SECONDS).code()).contains(0);
  }

  /**
   * Spawns the main QEMU as the agent does: its QMP socket made and its console log opened here,
   * passed as descriptors and closed here once it runs.
   */
  private RunningProcess startMain(List<String> argv, VmPaths paths) throws IOException {
    try (Fd qmp = Fd.listeningUnixSocket(paths.qmpSocket()); Fd tty = Fd.listeningUnixSocket(paths.ttySocket());
        Fd console = Fd.appendTo(paths.consoleLog()); Fd log = Fd.appendTo(dir.resolve("main.log")); Fd in = Fd.devNull()) {
      RunningProcess main = new PosixSpawnLauncher(java.nio.file.Path.of("/usr/bin/qemu-system-x86_64")).start(argv, Map.of(0, in, 1, log, 2, log,
          QemuCommandLine.MAIN_QMP_DESCRIPTOR, qmp, QemuCommandLine.MAIN_TTY_DESCRIPTOR, tty,
          QemuCommandLine.MAIN_CONSOLE_DESCRIPTOR, console), List.of());
      spawned.add(main);
      return main;
    }
  }

  /** One QMP session by path: the greeting, capabilities, then {@code command}; closed after. */
  private static void session(VmPaths paths, JsonObject command) throws Exception {
    try (AFUNIXSocket qmp = connect(paths.qmpSocket())) {
      qmp.setSoTimeout(10_000);
      BufferedReader in = new BufferedReader(new InputStreamReader(qmp.getInputStream(), StandardCharsets.UTF_8));
      OutputStream out = qmp.getOutputStream();
      assertThat(in.readLine()).contains("\"QMP\"");
      execute(in, out, new JsonObject().put("execute", "qmp_capabilities"));
      execute(in, out, command);
    }
  }

  /** Waits until the console log holds exactly {@code text}. */
  private static void awaitConsole(VmPaths paths, String text) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    String seen = "";
    while (System.nanoTime() < deadline) {
      seen = Files.readString(paths.consoleLog(), StandardCharsets.US_ASCII);
      if (seen.equals(text)) {
        return;
      }
      Thread.sleep(20);
    }
    assertThat(seen).as("the console log").isEqualTo(text);
  }

  private static String socketOf(long pid, int fd) throws IOException {
    return Files.readSymbolicLink(Path.of("/proc/" + pid + "/fd/" + fd)).toString();
  }

  private Path writeImage(String format) throws IOException, InterruptedException {
    Path raw = dir.resolve("boot.raw");
    BootImage.writeRaw(raw, MESSAGE, true);
    if (format.equals("raw")) {
      return raw;
    }
    if (format.equals(OVERLAY)) {
      // an overlay made over the base, then told to forget its name: only the command line joins them
      Path top = dir.resolve("overlay.qcow2");
      QemuImg.run("create", "-q", "-f", "qcow2", "-F", "raw", "-b", raw.toString(), top.toString());
      QemuImg.run("rebase", "-q", "-u", "-b", "", top.toString());
      return top;
    }
    Path qcow2 = dir.resolve("boot.qcow2");
    Process convert = new ProcessBuilder("qemu-img", "convert", "-f", "raw", "-O", "qcow2", raw.toString(), qcow2.toString())
        .redirectErrorStream(true).redirectOutput(dir.resolve("qemu-img.log").toFile()).start();
    started.add(convert);
    assertThat(convert.waitFor(10, TimeUnit.SECONDS)).isTrue();
    assertThat(convert.exitValue()).isZero();
    return qcow2;
  }

  private static AFUNIXSocket connect(Path socket) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
    while (true) {
      try {
        return AFUNIXSocket.connectTo(AFUNIXSocketAddress.of(socket));
      } catch (IOException e) {
        if (System.nanoTime() > deadline) {
          throw e;
        }
        Thread.sleep(20);
      }
    }
  }

  /** Sends one command and returns its reply, skipping events; fails on an error reply. */
  private static JsonObject execute(BufferedReader in, OutputStream out, JsonObject command) throws IOException {
    out.write((command.encode() + "\n").getBytes(StandardCharsets.UTF_8));
    out.flush();
    for (String line = in.readLine(); line != null; line = in.readLine()) {
      JsonObject reply = new JsonObject(line);
      if (reply.containsKey("event")) {
        continue;
      }
      assertThat(reply.containsKey("return")).as("reply to %s: %s", command.getString("execute"), line).isTrue();
      return reply;
    }
    throw new IOException("QMP closed before replying to " + command.encode());
  }
}
