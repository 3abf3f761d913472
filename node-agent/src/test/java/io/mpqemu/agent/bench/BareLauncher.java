package io.mpqemu.agent.bench;

import io.mpqemu.agent.confine.Confinement;
import io.mpqemu.agent.e2e.AgentHarness;
import io.mpqemu.agent.process.PosixSpawnLauncher;
import io.mpqemu.agent.process.ProcessMarker;
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
import io.mpqemu.agent.vm.ConfinedVm;
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
 * state file; in the agent's order (the main QEMU first, then the socketpairs and the device processes while
 * it starts). Each step's end is stamped with {@link System#nanoTime()}.
 *
 * <p>Given a {@link Confinement}, it confines the processes as the agent does, with the same calls:
 * {@link Confinement#prepare} (a uid block, the VM's cgroups) and {@link ConfinedVm#wrap} (the jail's
 * command in front of each argv), released with the VM. The QMP socket is made listening by the launcher
 * and handed to QEMU, as the agent does, so connecting never polls: it waits for QEMU's greeting.
 * Thread-safe: launches may run at once from several threads.
 */
public final class BareLauncher {

  private static final Duration QMP_TIMEOUT = Duration.ofSeconds(10);

  private final Vertx vertx;
  private final Path stateRoot;
  private final QemuCommandLine commandLine = new QemuCommandLine(Path.of("qemu-system-x86_64"));
  private final PosixSpawnLauncher launcher = new PosixSpawnLauncher(java.nio.file.Path.of("/usr/bin/qemu-system-x86_64"));
  private final Confinement confinement;

  /** Unconfined. */
  public BareLauncher(Vertx vertx, Path stateRoot) {
    this(vertx, stateRoot, null);
  }

  /** Confined by {@code confinement} (null: unconfined), which the caller closes. */
  public BareLauncher(Vertx vertx, Path stateRoot, Confinement confinement) {
    this.vertx = vertx;
    this.stateRoot = stateRoot;
    this.confinement = confinement;
  }

  public VmPaths paths(String vmId) {
    return VmPaths.of(stateRoot, vmId);
  }

  /** A launched VM and when each step ended (System.nanoTime()). */
  public static final class Vm {
    final String id;
    final VmPaths paths;
    final Map<String, DevicePair> pairs = new LinkedHashMap<>();
    final List<RunningProcess> processes = new ArrayList<>();
    Qmp qmp;
    ConfinedVm jail;
    public long dirAt;
    public long pairsAt;
    public long devicesStartedAt;
    public long mainStartedAt;
    public volatile long qmpConnectedAt;
    public volatile long proxiesAddedAt;
    public volatile long runningAt;

    Vm(String id, VmPaths paths) {
      this.id = id;
      this.paths = paths;
    }
  }

  /**
   * Launches; returns once cont has answered. {@code images} maps each disk id to its image, and
   * "boot.kernel" and "boot.initrd" to a directly booted VM's files.
   */
  public Vm launch(String vmId, VmSpec spec, Map<String, Path> images, Accelerator accel) throws Exception {
    Vm vm = new Vm(vmId, paths(vmId));
    try {
      Files.createDirectories(vm.paths.dir());
      Files.setPosixFilePermissions(vm.paths.dir(), PosixFilePermissions.fromString("rwx------"));
      if (confinement != null) {
        List<String> groups = new ArrayList<>();
        spec.getDevicesList().forEach(d -> groups.add(VmPaths.processGroup(d.getId())));
        groups.add(VmPaths.processGroup(VmPaths.MAIN));
        vm.jail = confinement.prepare(vmId, groups, spec.getMemoryMib(), spec.getVcpus()).orElse(null);
      }
      vm.dirAt = System.nanoTime();
      // the main QEMU first, as the agent does: its start-up is the long pole; pairs and devices meanwhile
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
        List<String> argv = commandLine.main(spec, accel);
        if (vm.jail != null) {
          argv = vm.jail.wrap(VmPaths.processGroup(VmPaths.MAIN), vm.jail.firstUid(), accel == Accelerator.KVM, argv);
        }
        vm.processes.add(start(argv, fds, vm.paths.processLog(VmPaths.MAIN), ProcessMarker.process(stateRoot, vmId,
            VmPaths.MAIN)));
      }
      vm.mainStartedAt = System.nanoTime();
      for (ProxiedDevice d : spec.getDevicesList()) {
        vm.pairs.put(d.getId(), SocketPairs.open());
      }
      vm.pairsAt = System.nanoTime();
      for (int index = 0; index < spec.getDevicesCount(); index++) {
        ProxiedDevice d = spec.getDevices(index);
        Map<Integer, Fd> fds = new HashMap<>();
        fds.put(0, Fd.borrow(vm.pairs.get(d.getId()).remoteEnd()));
        List<Fd> opened = new ArrayList<>();
        try {
          for (int i = 0; i < d.getDisksCount(); i++) {
            Fd image = Fd.open(images.get(d.getDisks(i).getId()), !d.getDisks(i).getReadOnly());
            opened.add(image);
            fds.put(QemuCommandLine.diskDescriptor(i), image);
          }
          List<String> argv = commandLine.remote(d);
          if (vm.jail != null) {
            argv = vm.jail.wrap(VmPaths.processGroup(d.getId()), vm.jail.firstUid() + 1 + index, false, argv);
          }
          vm.processes.add(start(argv, fds, vm.paths.processLog(d.getId()), ProcessMarker.process(stateRoot, vmId,
              d.getId())));
        } finally {
          opened.forEach(Fd::close);
        }
      }
      vm.devicesStartedAt = System.nanoTime();
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
      String logs = logsOf(vm);
      destroy(vm);
      throw new IllegalStateException("bare launch of " + vmId + " failed: " + e + "; its processes said: " + logs, e);
    }
  }

  private static String logsOf(Vm vm) {
    StringBuilder said = new StringBuilder();
    try (Stream<Path> logs = Files.exists(vm.paths.dir()) ? Files.list(vm.paths.dir()) : Stream.empty()) {
      for (Path log : logs.filter(p -> p.toString().endsWith(".log")).toList()) {
        said.append("\n[").append(log.getFileName()).append("] ").append(Files.readString(log).strip());
      }
    } catch (IOException e) {
      said.append(" (unreadable: ").append(e).append(')');
    }
    return said.toString();
  }

  /** Spawns {@code argv} marked as the agent marks its processes, so that a scan of the state root finds it. */
  private RunningProcess start(List<String> argv, Map<Integer, Fd> fds, Path log, List<String> marker) throws IOException {
    try (Fd out = Fd.appendTo(log); Fd in = Fd.devNull()) {
      fds.putIfAbsent(0, in);
      fds.put(1, out);
      fds.put(2, out);
      return launcher.start(argv, fds, marker);
    }
  }

  /** SIGKILL to every process, waits for each, closes the pairs and QMP, removes the directory and the jail. */
  public void destroy(Vm vm) throws IOException, InterruptedException {
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
    if (confinement != null) {
      confinement.release(vm.id);
    }
    if (Files.exists(vm.paths.dir())) {
      try (Stream<Path> walk = Files.walk(vm.paths.dir())) {
        for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
          Files.deleteIfExists(p);
        }
      }
    }
  }
}
