package io.mpqemu.agent.vm;

import io.mpqemu.agent.images.OpenImages;
import io.mpqemu.agent.process.ProcessMarker;
import io.mpqemu.agent.qemu.QemuCommandLine;
import io.mpqemu.agent.qemu.Qmp;
import io.mpqemu.agent.state.VmPaths;
import io.mpqemu.agent.sys.Fd;
import io.mpqemu.agent.unix.DevicePair;
import io.mpqemu.v1.EventType;
import io.mpqemu.v1.ProcessRole;
import io.mpqemu.v1.Disk;
import io.mpqemu.v1.ProxiedDevice;
import io.mpqemu.v1.VmSpec;
import io.vertx.core.Future;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

/** The steps of a launch, in the order {@link Launch} runs them. Each registers what it made. */
final class LaunchSteps {

  private final Vm vm;
  private final VmRuntime rt;
  private final VmEvents events;
  private final VmRecordWriter writer;
  private final ProcessWatcher watcher;
  private final QmpEvents qmpEvents;

  LaunchSteps(Vm vm, VmRuntime rt, VmEvents events, VmRecordWriter writer, ProcessWatcher watcher, QmpEvents qmpEvents) {
    this.vm = vm;
    this.rt = rt;
    this.events = events;
    this.writer = writer;
    this.watcher = watcher;
    this.qmpEvents = qmpEvents;
  }

  Future<Void> createStateDir() {
    VmPaths paths = vm.paths();
    VmSpec spec = vm.spec();
    List<String> deviceGroups = processIds().stream().map(VmPaths::processGroup).toList();
    return rt.blocking(() -> {
      rt.store().createVmDir(paths);
      Files.deleteIfExists(paths.qmpSocket());
      Files.deleteIfExists(paths.ttySocket());
      List<String> groups = new ArrayList<>(deviceGroups);
      groups.add(VmPaths.processGroup(VmPaths.MAIN));
      return rt.confinement().prepare(vm.id(), groups, Integer.toUnsignedLong(spec.getMemoryMib()), spec.getVcpus());
    }).map(jail -> {
      vm.confine(jail.orElse(null));
      // the record (launchComplete=false) is written in the background: a restarted agent finds a
      // half-launched VM's processes through /proc whether or not it was written yet
      vm.state().recorded();
      writer.persist();
      return null;
    });
  }

  /** The names of the VM's device processes: its devices', its cloud-init seed's, its proxied NICs'. */
  private List<String> processIds() {
    List<String> ids = new ArrayList<>();
    QemuCommandLine.deviceProcesses(vm.spec()).forEach(d -> ids.add(d.getId()));
    vm.images().nicProcesses().forEach(n -> ids.add(n.id()));
    return ids;
  }

  /**
   * The main QEMU opens no path of the state directory: the agent makes its listening QMP and console
   * sockets at {@code qmp.sock} and {@code tty.sock} (0600) and opens its console log, hands them over
   * as {@link QemuCommandLine#MAIN_QMP_DESCRIPTOR}, {@link QemuCommandLine#MAIN_TTY_DESCRIPTOR} and
   * {@link QemuCommandLine#MAIN_CONSOLE_DESCRIPTOR}, and closes its own copies once QEMU is spawned.
   */
  Future<Void> startMainProcess() {
    VmPaths paths = vm.paths();
    List<String> argv = rt.commandLine().main(vm.spec(), rt.accelerator(), vm.images().nics());
    ConfinedVm jail = vm.jail();
    long uid = jail == null ? rt.confinement().agentUid() : jail.firstUid();
    boolean kvm = rt.accelerator() == QemuCommandLine.Accelerator.KVM;
    // with a user-mode NIC of its own (placement MAIN), the main QEMU runs that backend in the host's network
    boolean hostNetwork = vm.images().nics().stream().anyMatch(n -> n.inMain() && n.user());
    List<String> command = jail == null ? argv
        : jail.wrap(VmPaths.processGroup(VmPaths.MAIN), uid, kvm, hostNetwork, argv);
    Map<Integer, Fd> given = new HashMap<>();
    vm.images().optional(OpenImages.KERNEL).ifPresent(k -> given.put(QemuCommandLine.MAIN_KERNEL_DESCRIPTOR, k.fd()));
    vm.images().optional(OpenImages.INITRD).ifPresent(i -> given.put(QemuCommandLine.MAIN_INITRD_DESCRIPTOR, i.fd()));
    int tap = QemuCommandLine.mainFirstTapDescriptor(vm.spec()); // in the order main() numbers them
    for (QemuCommandLine.Nic nic : vm.images().nics()) {
      if (nic.inMain() && nic.tap() != null) {
        given.put(tap++, nic.tap());
      }
    }
    return startProcess(VmPaths.MAIN, ProcessRole.PROCESS_ROLE_MAIN, command, given, uid, () -> mainDescriptors(paths));
  }

  /**
   * The main QEMU's QMP socket, console socket and console log, opened on a worker; on failure nothing
   * stays open.
   */
  private static Map<Integer, Fd> mainDescriptors(VmPaths paths) throws IOException {
    Map<Integer, Fd> opened = new HashMap<>();
    try {
      opened.put(QemuCommandLine.MAIN_QMP_DESCRIPTOR, Fd.listeningUnixSocket(paths.qmpSocket()));
      opened.put(QemuCommandLine.MAIN_TTY_DESCRIPTOR, Fd.listeningUnixSocket(paths.ttySocket()));
      opened.put(QemuCommandLine.MAIN_CONSOLE_DESCRIPTOR, Fd.appendTo(paths.consoleLog()));
      return opened;
    } catch (IOException | RuntimeException e) {
      opened.values().forEach(Fd::close);
      throw e;
    }
  }

  Future<Void> openSocketPairs() {
    List<String> ids = processIds();
    return rt.blocking(() -> {
      Map<String, DevicePair> opened = new LinkedHashMap<>();
      try {
        for (String id : ids) {
          opened.put(id, rt.socketPairs().open());
        }
      } catch (IOException | RuntimeException e) {
        opened.values().forEach(DevicePair::close);
        throw e;
      }
      return opened;
    }).map(opened -> {
      vm.processes().addPairs(opened);
      return null;
    });
  }

  /**
   * Each device process gets its end of the pair as fd 0, its log as fds 1 and 2, and the images of
   * its disks, opened by the agent, as {@link QemuCommandLine#diskDescriptor} 3, 4, ...
   */
  Future<Void> startDeviceProcesses() {
    List<Future<Void>> starts = new ArrayList<>();
    List<ProxiedDevice> devices = QemuCommandLine.deviceProcesses(vm.spec());
    for (int index = 0; index < devices.size(); index++) {
      ProxiedDevice d = devices.get(index);
      Map<String, List<QemuCommandLine.Base>> bases = new HashMap<>();
      for (Disk disk : d.getDisksList()) {
        vm.images().baseOf(disk.getId()).ifPresent(b -> bases.put(disk.getId(), List.of(new QemuCommandLine.Base(b.format()))));
      }
      List<String> argv = rt.commandLine().remote(d, bases);
      DevicePair pair = vm.processes().pair(d.getId());
      Map<Integer, Fd> given = new HashMap<>();
      given.put(0, Fd.borrow(pair.remoteEnd()));
      Map<String, List<Integer>> numbers = QemuCommandLine.descriptors(d, bases);
      for (Disk disk : d.getDisksList()) {
        List<Integer> layers = numbers.get(disk.getId());
        given.put(layers.get(0), vm.images().of(disk.getId()).fd());
        vm.images().baseOf(disk.getId()).ifPresent(b -> given.put(layers.get(1), b.image().fd()));
      }
      ConfinedVm jail = vm.jail();
      long uid = jail == null ? rt.confinement().agentUid() : jail.firstUid() + 1 + index;
      List<String> command = jail == null ? argv : jail.wrap(VmPaths.processGroup(d.getId()), uid, false, argv);
      starts.add(startProcess(d.getId(), ProcessRole.PROCESS_ROLE_DEVICE, command, given, uid));
    }
    int index = devices.size();
    for (QemuCommandLine.Nic nic : vm.images().nicProcesses()) {
      ConfinedVm jail = vm.jail();
      long uid = jail == null ? rt.confinement().agentUid() : jail.firstUid() + 1 + index++;
      List<String> argv = rt.commandLine().nicRemote(nic);
      // a user-mode backend stays in the host's network namespace: its forwards listen there
      List<String> command = jail == null ? argv : jail.wrap(VmPaths.processGroup(nic.id()), uid, false, nic.user(), argv);
      Map<Integer, Fd> given = new HashMap<>();
      given.put(0, Fd.borrow(vm.processes().pair(nic.id()).remoteEnd()));
      if (nic.tap() != null) {
        given.put(QemuCommandLine.NIC_TAP_DESCRIPTOR, nic.tap());
      }
      starts.add(startProcess(nic.id(), ProcessRole.PROCESS_ROLE_NIC, command, given, uid));
    }
    return Future.all(starts).mapEmpty();
  }

  private Future<Void> startProcess(String name, ProcessRole role, List<String> argv, Map<Integer, Fd> given, long uid) {
    return startProcess(name, role, argv, given, uid, Map::of);
  }

  /**
   * Starts one process as {@code uid} with {@code given}, the descriptors {@code opener} opens for it
   * alone (closed once it is spawned), and its log as stdout and stderr (stdin /dev/null unless
   * given). Everything is opened in the one worker task that spawns, so a launch that fails meanwhile
   * still waits for it.
   */
  private Future<Void> startProcess(String name, ProcessRole role, List<String> argv, Map<Integer, Fd> given,
      long uid, Callable<Map<Integer, Fd>> opener) {
    Path log = vm.paths().processLog(name);
    List<String> marker = ProcessMarker.process(rt.config().stateDir(), vm.id(), name);
    Future<Void> started = rt.blocking(() -> {
      Map<Integer, Fd> own = opener.call();
      try (Fd logFd = Fd.appendTo(log); Fd devNull = Fd.devNull()) {
        Map<Integer, Fd> fds = new HashMap<>(given);
        fds.putAll(own);
        fds.putIfAbsent(0, devNull);
        fds.put(1, logFd);
        fds.put(2, logFd);
        return rt.launcher().start(argv, fds, marker);
      } finally {
        own.values().forEach(Fd::close);
      }
    }).map(rp -> {
      // registered even when the launch was aborted meanwhile, so that its teardown kills it too
      VmProcess p = new VmProcess(name, role, rp, uid);
      vm.processes().add(p);
      watcher.watch(p);
      events.emit(EventType.PROCESS_STARTED, "ProcessStarted", p.title() + " started, pid " + rp.pid()
          + ", uid " + uid, p);
      return null;
    });
    vm.processes().spawning(started);
    return started;
  }

  Future<Void> connectQmp(LaunchAttempt attempt) {
    return rt.qmp().connect(vm.id(), vm.paths().qmpSocket()).compose(client -> {
      if (attempt.abortCause() != null) {
        client.close();
        return Future.failedFuture(attempt.abortCause());
      }
      qmpEvents.attach(client); // the agent made the socket 0600 (mainDescriptors)
      return Future.<Void>succeededFuture();
    });
  }

  Future<Void> addProxyDevices() {
    Future<Void> chain = Future.succeededFuture();
    for (String id : processIds()) {
      String fdName = "fd-" + id;
      chain = chain
          .compose(v -> qmp().getfd(fdName, vm.processes().pair(id).mainEnd(), Vm.QMP_TIMEOUT))
          .compose(v -> qmp().execute("device_add", QemuCommandLine.proxyArguments(vm.spec(), id, fdName), Vm.QMP_TIMEOUT))
          .mapEmpty();
    }
    return chain.onSuccess(v -> {
      for (QemuCommandLine.Nic nic : vm.images().nics()) {
        events.emit(EventType.NIC_ATTACHED, "NicAttached", "NIC " + nic.id() + " (" + nic.model() + ", " + nic.mac()
            + ", network " + nic.network() + (nic.inMain() ? ", in the main QEMU" : ", in its own process") + ") attached", null);
      }
    });
  }

  Future<Void> startGuest() {
    return qmp().execute("cont", new JsonObject(), Vm.QMP_TIMEOUT).mapEmpty();
  }

  private Qmp qmp() {
    return vm.qmp();
  }
}
