package io.mpqemu.agent.bench;

import io.mpqemu.agent.e2e.AgentHarness;
import io.mpqemu.agent.process.PosixSpawnLauncher;
import io.mpqemu.agent.process.RunningProcess;
import io.mpqemu.agent.qemu.QemuCommandLine.Accelerator;
import io.mpqemu.agent.qemu.QemuCommandLine;
import io.mpqemu.agent.qemu.Qmp;
import io.mpqemu.agent.qemu.QmpClient;
import io.mpqemu.agent.state.VmPaths;
import io.mpqemu.agent.sys.Fd;
import io.mpqemu.agent.unix.DevicePair;
import io.mpqemu.agent.unix.SocketPairs;
import io.mpqemu.agent.unix.UnixQmpTransport;
import io.mpqemu.v1.ProxiedDevice;
import io.mpqemu.v1.VmSpec;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.lang.ProcessBuilder.Redirect;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * The same processes the agent starts for a VM, with the same argv ({@link QemuCommandLine}), wired
 * the same way ({@link SocketPairs}, the device's pair end as its stdin and its images as descriptors, spawned the same way, the main
 * QEMU paused, {@link QmpClient}: getfd, device_add, cont), and nothing else: no gRPC, no events, no
 * state file. Each step's end is stamped with {@link System#nanoTime()}.
 */
final class BareLauncher {

  private static final Duration QMP_TIMEOUT = Duration.ofSeconds(10);

  private final Vertx vertx;
  private final Path stateRoot;
  private final QemuCommandLine commandLine = new QemuCommandLine(Path.of("qemu-system-x86_64"));
  private final PosixSpawnLauncher launcher = new PosixSpawnLauncher(java.nio.file.Path.of("/usr/bin/qemu-system-x86_64"));

  BareLauncher(Vertx vertx, Path stateRoot) {
    this.vertx = vertx;
    this.stateRoot = stateRoot;
  }

  VmPaths paths(String vmId) {
    return VmPaths.of(stateRoot, vmId);
  }

  /** A launched VM and when each step ended (System.nanoTime()). */
  static final class Vm {
    final VmPaths paths;
    final Map<String, DevicePair> pairs = new LinkedHashMap<>();
    final List<RunningProcess> processes = new ArrayList<>();
    Qmp qmp;
    long dirAt;
    long pairsAt;
    long devicesStartedAt;
    long mainStartedAt;
    volatile long qmpConnectedAt;
    volatile long proxiesAddedAt;
    volatile long runningAt;

    Vm(VmPaths paths) {
      this.paths = paths;
    }
  }

  /**
   * Launches; returns once cont has answered. {@code images} maps each disk id to its image, and
   * "boot.kernel" and "boot.initrd" to a directly booted VM's files.
   */
  Vm launch(String vmId, VmSpec spec, Map<String, Path> images, Accelerator accel) throws Exception {
    Vm vm = new Vm(paths(vmId));
    try {
      Files.createDirectories(vm.paths.dir());
      Files.setPosixFilePermissions(vm.paths.dir(), PosixFilePermissions.fromString("rwx------"));
      vm.dirAt = System.nanoTime();
      for (ProxiedDevice d : spec.getDevicesList()) {
        vm.pairs.put(d.getId(), SocketPairs.open());
      }
      vm.pairsAt = System.nanoTime();
      for (ProxiedDevice d : spec.getDevicesList()) {
        Map<Integer, Fd> fds = new HashMap<>();
        fds.put(0, Fd.borrow(vm.pairs.get(d.getId()).remoteEnd()));
        List<Fd> opened = new ArrayList<>();
        try {
          for (int i = 0; i < d.getDisksCount(); i++) {
            Fd image = Fd.open(images.get(d.getDisks(i).getId()), !d.getDisks(i).getReadOnly());
            opened.add(image);
            fds.put(QemuCommandLine.diskDescriptor(i), image);
          }
          vm.processes.add(start(commandLine.remote(d), fds, vm.paths.processLog(d.getId())));
        } finally {
          opened.forEach(Fd::close);
        }
      }
      vm.devicesStartedAt = System.nanoTime();
      try (Fd qmp = Fd.listeningUnixSocket(vm.paths.qmpSocket()); Fd tty = Fd.listeningUnixSocket(vm.paths.ttySocket());
          Fd console = Fd.appendTo(vm.paths.consoleLog());
          Fd kernel = spec.getBoot().getKernel().isEmpty() ? null : Fd.open(images.get("boot.kernel"), false);
          Fd initrd = spec.getBoot().getInitrd().isEmpty() ? null : Fd.open(images.get("boot.initrd"), false)) {
        Map<Integer, Fd> fds = new HashMap<>(Map.of(QemuCommandLine.MAIN_QMP_DESCRIPTOR, qmp,
            QemuCommandLine.MAIN_TTY_DESCRIPTOR, tty, QemuCommandLine.MAIN_CONSOLE_DESCRIPTOR, console));
        if (kernel != null) {
          fds.put(QemuCommandLine.MAIN_KERNEL_DESCRIPTOR, kernel);
        }
        if (initrd != null) {
          fds.put(QemuCommandLine.MAIN_INITRD_DESCRIPTOR, initrd);
        }
        vm.processes.add(start(commandLine.main(spec, accel), fds, vm.paths.processLog(VmPaths.MAIN)));
      }
      vm.mainStartedAt = System.nanoTime();
      Future<Void> running = QmpClient.connect(vertx, vmId,
              () -> UnixQmpTransport.connect(vm.paths.qmpSocket(), QMP_TIMEOUT), QMP_TIMEOUT)
          .compose(qmp -> {
            vm.qmpConnectedAt = System.nanoTime();
            vm.qmp = qmp;
            Future<Void> chain = Future.succeededFuture();
            for (ProxiedDevice d : spec.getDevicesList()) {
              String fdName = "fd-" + d.getId();
              chain = chain
                  .compose(v -> qmp.getfd(fdName, vm.pairs.get(d.getId()).mainEnd(), QMP_TIMEOUT))
                  .compose(v -> qmp.execute("device_add", QemuCommandLine.proxyDeviceArguments(spec, d, fdName), QMP_TIMEOUT))
                  .mapEmpty();
            }
            return chain;
          })
          .compose(v -> {
            vm.proxiesAddedAt = System.nanoTime();
            return vm.qmp.execute("cont", new JsonObject(), QMP_TIMEOUT);
          })
          .map(r -> {
            vm.runningAt = System.nanoTime();
            return null;
          });
      AgentHarness.result(running);
      return vm;
    } catch (Exception | Error e) {
      destroy(vm);
      throw e;
    }
  }

  private RunningProcess start(List<String> argv, Map<Integer, Fd> fds, Path log) throws IOException {
    try (Fd out = Fd.appendTo(log); Fd in = Fd.devNull()) {
      fds.putIfAbsent(0, in);
      fds.put(1, out);
      fds.put(2, out);
      return launcher.start(argv, fds, List.of());
    }
  }

  /** SIGKILL to every process, waits for each, closes the pairs and QMP, removes the directory. */
  void destroy(Vm vm) throws IOException, InterruptedException {
    if (vm.qmp != null) {
      vm.qmp.close();
    }
    for (RunningProcess p : vm.processes) {
      p.kill();
    }
    for (RunningProcess p : vm.processes) {
      try {
        p.onExit().get(10, TimeUnit.SECONDS);
      } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
        throw new IllegalStateException("pid " + p.pid() + " did not die after SIGKILL");
      }
    }
    vm.pairs.values().forEach(DevicePair::close);
    if (Files.exists(vm.paths.dir())) {
      try (Stream<Path> walk = Files.walk(vm.paths.dir())) {
        for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
          Files.deleteIfExists(p);
        }
      }
    }
  }
}
