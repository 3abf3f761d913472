package io.mpqemu.agent.qemu;

import io.mpqemu.spec.CloudInitSeed;
import io.mpqemu.spec.SpecValidator;
import io.mpqemu.v1.Disk;
import io.mpqemu.v1.ProxiedDevice;
import io.mpqemu.v1.VmSpec;
import io.vertx.core.json.JsonObject;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;

/**
 * The argv of every QEMU process of a VM (pure: no I/O). Every option that carries a value from a
 * spec ({@code -device}, {@code -blockdev}, {@code -object}) is JSON, so no value can inject an
 * option; the few {@code key=value} options carry only numbers and constants (the machine type is
 * one of an allow-list). No QEMU process names a path: what it reads or writes, the agent opens and
 * passes as a descriptor, so that it can run where the agent's directories do not exist.
 *
 * <p>Verified with QEMU 7.2 under TCG: a disk is read-only when both of its block nodes (the
 * {@code file} node and the format node) say {@code "read-only": true}; {@code scsi-hd},
 * {@code nvme} and {@code virtio-blk-pci} all accept such a node as it is, and a guest boots from it
 * through the proxy.
 *
 * <p>Proxies are added over QMP while the main QEMU is paused, which QEMU 7.2 treats as hotplug. The
 * {@code pc} machine's root bus takes hotplugged devices; the {@code q35} root bus does not ("Bus
 * 'pcie.0' does not support hotplugging"), so on q35 the main QEMU gets one {@code pcie-pci-bridge}
 * ({@value #PROXY_BRIDGE}) and every proxy goes on it; verified: the guest boots through it.
 */
public final class QemuCommandLine {

  /** How the main QEMU runs guest code. */
  /**
   * TCG's translation cache, in MiB. QEMU's default is 1 GiB, which a Linux guest fills as it runs more
   * code: the main QEMU then outgrows its cgroup's allowance (guest RAM plus 512 MiB) and the kernel kills
   * it. A bounded cache is flushed and refilled when full instead.
   */
  public static final int TCG_TRANSLATION_CACHE_MIB = 256;

  public enum Accelerator {
    KVM,
    TCG;

    public String qemuName() {
      return name().toLowerCase(Locale.ROOT);
    }
  }

  /** The id of the shared guest RAM backend, named by the main QEMU's {@code -machine}. */
  static final String MEMORY_BACKEND = "mem";

  static final String SANDBOX = "on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny";

  /**
   * The qdev id of the bridge that carries the proxies on q35. Upper-case, so that no device id of a
   * spec (lower-case only) can take it.
   */
  public static final String PROXY_BRIDGE = "Mpqemu-br0";

  /** QEMU refuses qdev ids and node names longer than this. */
  static final int MAX_QEMU_ID = 31;

  /** Descriptors 0 to 2 are the socket and the log; disks follow. */
  static final int FIRST_DISK_DESCRIPTOR = 3;

  /**
   * The main QEMU's QMP socket: listening, made by the agent at the VM's {@code qmp.sock}, served by
   * QEMU without its path ({@code -chardev socket,fd=N,server=on}); clients still connect by path.
   */
  public static final int MAIN_QMP_DESCRIPTOR = 3;

  /** The main QEMU's console log, opened by the agent write-only and appending. */
  public static final int MAIN_CONSOLE_DESCRIPTOR = 4;

  /**
   * The serial console's socket: listening, made by the agent at the VM's {@code tty.sock}, served by
   * QEMU without its path. Whoever connects (the agent, for an attached console) reads the guest's
   * output as it comes and writes its input; QEMU logs the output to the console log whether or not a
   * client is connected, and a client gets no past output from it.
   */
  public static final int MAIN_TTY_DESCRIPTOR = 5;

  /**
   * The kernel and initrd of a directly booted VM, opened by the agent: QEMU reads them by name with
   * {@code fopen}, so it is given {@code /proc/self/fd/N} of these (an fd set does not work there).
   */
  public static final int MAIN_KERNEL_DESCRIPTOR = 6;
  public static final int MAIN_INITRD_DESCRIPTOR = 7;

  /** The fd set of the console log: QEMU opens {@code /dev/fdset/N}, a copy of the descriptor. */
  static final int MAIN_CONSOLE_FD_SET = 1;

  private static final long MIB = 1024L * 1024L;

  private final Path qemuBinary;

  public QemuCommandLine(Path qemuBinary) {
    this.qemuBinary = Objects.requireNonNull(qemuBinary, "qemuBinary");
  }

  /**
   * The device processes a VM's command lines make, in order: the spec's devices, then the cloud-init
   * seed's when it has {@code cloud_init}.
   */
  public static List<ProxiedDevice> deviceProcesses(VmSpec spec) {
    return CloudInitSeed.devicesOf(spec);
  }

  /**
   * The child descriptor that carries the image of a device's disk number {@code index} (0, 1, ...)
   * when no disk of the device has a base image: the agent opens every image and hands it over at this
   * number; QEMU reaches it through an fd set and never opens an image by path.
   */
  public static int diskDescriptor(int index) {
    return FIRST_DISK_DESCRIPTOR + index;
  }

  /**
   * A base image under a disk's own image (a per-VM overlay over a shared image): one more descriptor,
   * read-only. No header names it: the overlay node names it by node name, so QEMU opens nothing.
   */
  public record Base(String format) {}

  /**
   * The descriptor numbers a device process expects, by disk id: its image first, then its bases,
   * nearest first; numbered from 3 in the order of the spec.
   */
  public static Map<String, List<Integer>> descriptors(ProxiedDevice device, Map<String, List<Base>> bases) {
    Map<String, List<Integer>> numbers = new LinkedHashMap<>();
    int next = FIRST_DISK_DESCRIPTOR;
    for (Disk disk : device.getDisksList()) {
      List<Integer> layers = new ArrayList<>();
      for (int k = 0; k <= bases.getOrDefault(disk.getId(), List.of()).size(); k++) {
        layers.add(next++);
      }
      numbers.put(disk.getId(), List.copyOf(layers));
    }
    return numbers;
  }

  /** The argv of a device process whose disks have no base image. */
  public List<String> remote(ProxiedDevice device) {
    return remote(device, Map.of());
  }

  /**
   * The argv of the remote ({@code -machine x-remote}) process serving one device: its socket end is
   * its fd 0 (stdin), its images (and their {@code bases}, by disk id) the descriptors that
   * {@link #descriptors} numbers. It names no file.
   */
  public List<String> remote(ProxiedDevice device, Map<String, List<Base>> bases) {
    List<String> argv = new ArrayList<>();
    argv.add(qemuBinary.toString());
    argv.addAll(List.of("-machine", "x-remote", "-nodefaults", "-no-user-config", "-display", "none"));
    Map<String, List<Integer>> numbers = descriptors(device, bases);
    for (int i = 0; i < device.getDisksCount(); i++) {
      Disk disk = device.getDisks(i);
      List<Base> chain = bases.getOrDefault(disk.getId(), List.of());
      List<Integer> fds = numbers.get(disk.getId());
      // the deepest base first: a node can only name a backing node defined before it
      for (int k = chain.size(); k >= 1; k--) {
        String below = k < chain.size() ? diskNode(i) + "b" + (k + 1) : null;
        addLayer(argv, fds.get(k), "file" + i + "b" + k, diskNode(i) + "b" + k, chain.get(k - 1).format(), true, below);
      }
      addLayer(argv, fds.get(0), "file" + i, diskNode(i), SpecValidator.formatOrDefault(disk), disk.getReadOnly(),
          chain.isEmpty() ? null : diskNode(i) + "b1");
    }
    for (JsonObject qdev : devices(device)) {
      argv.add("-device");
      argv.add(qdev.encode());
    }
    argv.add("-object");
    argv.add(new JsonObject()
        .put("qom-type", "x-remote-object")
        .put("id", "robj0")
        .put("devid", device.getId())
        .put("fd", "0")
        .encode());
    addCommonTail(argv);
    return List.copyOf(argv);
  }

  /**
   * A NIC as the command lines need it: its qdev id, model and MAC, the node's network it is on, whether it
   * is in the main QEMU, and its backend: user-mode ({@code user}, {@code restrict}, {@code hostForwards} as
   * QEMU's {@code tcp:127.0.0.1:8080-:80}) or {@code tap}, the descriptor of the tap the agent made (null for
   * user-mode).
   */
  public record Nic(String id, String model, String mac, String network, boolean inMain, boolean user,
      boolean restrict, List<String> hostForwards, io.mpqemu.agent.sys.Fd tap) {
    public Nic {
      hostForwards = List.copyOf(hostForwards);
    }

    /** Closes the agent's copy of the tap, if it has one (a tap nobody holds goes away). */
    public void closeTap() {
      if (tap != null) {
        tap.close();
      }
    }
  }

  /** In a NIC's device process, the tap the agent opened, after the socket end (fd 0) and the log (1, 2). */
  public static final int NIC_TAP_DESCRIPTOR = 3;

  /**
   * The argv of the remote process that serves one NIC and its backend: its socket end is fd 0, its tap (on
   * a bridge) {@value #NIC_TAP_DESCRIPTOR}.
   */
  public List<String> nicRemote(Nic nic) {
    List<String> argv = new ArrayList<>();
    argv.add(qemuBinary.toString());
    argv.addAll(List.of("-machine", "x-remote", "-nodefaults", "-no-user-config", "-display", "none"));
    argv.addAll(NicArgs.netdev(nic, NIC_TAP_DESCRIPTOR));
    argv.addAll(NicArgs.device(nic));
    argv.add("-object");
    argv.add(new JsonObject().put("qom-type", "x-remote-object").put("id", "robj0").put("devid", nic.id())
        .put("fd", "0").encode());
    addCommonTail(argv);
    return List.copyOf(argv);
  }

  /**
   * The main QEMU's first tap descriptor: its NICs' taps follow its console's socket and its kernel and
   * initrd, if it has them, with no gap (a spawn hands over consecutive descriptors).
   */
  public static int mainFirstTapDescriptor(VmSpec spec) {
    return spec.getBoot().getKernel().isEmpty() ? MAIN_KERNEL_DESCRIPTOR
        : spec.getBoot().getInitrd().isEmpty() ? MAIN_INITRD_DESCRIPTOR : MAIN_INITRD_DESCRIPTOR + 1;
  }

  /** The main QEMU's argv with its own NICs ({@code inMain}), their taps numbered from {@link #mainFirstTapDescriptor}. */
  public List<String> main(VmSpec spec, Accelerator accel, List<Nic> nics) {
    List<String> argv = new ArrayList<>(main(spec, accel));
    int at = argv.indexOf("-S");
    List<String> nicArgs = new ArrayList<>();
    int tap = mainFirstTapDescriptor(spec);
    for (Nic nic : nics) {
      if (nic.inMain()) {
        nicArgs.addAll(NicArgs.netdev(nic, nic.user() ? -1 : tap++));
        nicArgs.addAll(NicArgs.device(nic));
      }
    }
    argv.addAll(at, nicArgs);
    return List.copyOf(argv);
  }

  /**
   * The argv of the main QEMU, started paused ({@code -S}); proxies are added later over QMP. It
   * names no file: it gets its QMP socket as {@value #MAIN_QMP_DESCRIPTOR}, its console log as
   * {@value #MAIN_CONSOLE_DESCRIPTOR} and its serial console's socket as {@value #MAIN_TTY_DESCRIPTOR}.
   * Verified with QEMU 7.2: a pre-opened listening socket serves QMP (and the console) to one client
   * after another, and the chardev's log writes through the fd set with {@code O_APPEND}, so a log
   * truncated under it goes on from its new end.
   */
  public List<String> main(VmSpec spec, Accelerator accel) {
    String machine = SpecValidator.machineOrDefault(spec);
    if (!SpecValidator.KNOWN_MACHINES.contains(machine)) {
      throw new IllegalArgumentException("not a supported machine type: " + machine);
    }
    long mib = Integer.toUnsignedLong(spec.getMemoryMib());
    if (mib == 0) {
      throw new IllegalArgumentException("the spec has no memory_mib");
    }
    List<String> argv = new ArrayList<>();
    argv.add(qemuBinary.toString());
    argv.addAll(List.of(
        "-machine", machine + ",memory-backend=" + MEMORY_BACKEND,
        "-accel", Objects.requireNonNull(accel, "accel") == Accelerator.TCG
            ? "tcg,tb-size=" + TCG_TRANSLATION_CACHE_MIB : accel.qemuName(),
        "-smp", Integer.toString(SpecValidator.vcpusOrDefault(spec)),
        "-m", mib + "M"));
    argv.add("-object");
    argv.add(new JsonObject()
        .put("qom-type", "memory-backend-memfd")
        .put("id", MEMORY_BACKEND)
        .put("size", mib * MIB)
        .put("share", true)
        .encode());
    if (machine.equals("q35")) {
      argv.add("-device");
      argv.add(new JsonObject().put("driver", "pcie-pci-bridge").put("id", PROXY_BRIDGE).encode());
    }
    argv.addAll(List.of("-nodefaults", "-no-user-config", "-display", "none"));
    argv.addAll(List.of(
        "-add-fd", "fd=" + MAIN_CONSOLE_DESCRIPTOR + ",set=" + MAIN_CONSOLE_FD_SET,
        "-chardev", "socket,id=serial0,fd=" + MAIN_TTY_DESCRIPTOR + ",server=on,wait=off,logfile=/dev/fdset/"
            + MAIN_CONSOLE_FD_SET + ",logappend=on",
        "-serial", "chardev:serial0"));
    argv.addAll(List.of(
        "-chardev", "socket,id=qmp,fd=" + MAIN_QMP_DESCRIPTOR + ",server=on,wait=off",
        "-mon", "chardev=qmp,mode=control"));
    if (!spec.getBoot().getKernel().isEmpty()) {
      argv.addAll(List.of("-kernel", "/proc/self/fd/" + MAIN_KERNEL_DESCRIPTOR));
      if (!spec.getBoot().getInitrd().isEmpty()) {
        argv.addAll(List.of("-initrd", "/proc/self/fd/" + MAIN_INITRD_DESCRIPTOR));
      }
      String line = KernelCommandLine.of(spec, accel == Accelerator.TCG);
      if (!line.isEmpty()) {
        argv.addAll(List.of("-append", line)); // validated: printable ASCII, one argument, no shell
      }
    }
    argv.add("-S");
    addCommonTail(argv);
    return List.copyOf(argv);
  }

  /**
   * The QMP {@code device_add} arguments for the proxy of this device in the main QEMU that
   * {@link #main} built for {@code spec}: on q35 the proxy goes on {@value #PROXY_BRIDGE}.
   */
  public static JsonObject proxyDeviceArguments(VmSpec spec, ProxiedDevice device, String fdName) {
    return proxyArguments(spec, device.getId(), fdName);
  }

  /** The same for the proxy of the device process named {@code id} (a device's or a NIC's). */
  public static JsonObject proxyArguments(VmSpec spec, String id, String fdName) {
    JsonObject arguments = new JsonObject()
        .put("driver", "x-pci-proxy-dev")
        .put("id", id)
        .put("fd", Objects.requireNonNull(fdName, "fdName"));
    if (SpecValidator.machineOrDefault(spec).equals("q35")) {
      arguments.put("bus", PROXY_BRIDGE);
    }
    return arguments;
  }

  private static void addCommonTail(List<String> argv) {
    argv.addAll(List.of("-sandbox", SANDBOX, "-msg", "timestamp=on"));
  }

  /**
   * One layer: its descriptor in an fd set of its own, a file node on {@code /dev/fdset/N} and a format
   * node. A qcow2 node's backing is {@code below} (a node name) or null: whatever its header says, QEMU
   * follows nothing else. Numbers only reach the key=value {@code -add-fd}.
   */
  private static void addLayer(List<String> argv, int fd, String fileNode, String formatNode, String format,
      boolean readOnly, String below) {
    int set = fd - FIRST_DISK_DESCRIPTOR + 1;
    argv.addAll(List.of("-add-fd", "fd=" + fd + ",set=" + set));
    argv.add("-blockdev");
    argv.add(new JsonObject()
        .put("driver", "file")
        .put("node-name", fileNode)
        .put("filename", "/dev/fdset/" + set)
        .put("read-only", readOnly)
        .encode());
    JsonObject node = new JsonObject()
        .put("driver", format)
        .put("node-name", formatNode)
        .put("file", fileNode)
        .put("read-only", readOnly);
    if (below != null && !format.equals("qcow2")) {
      throw new IllegalArgumentException("only a qcow2 image can have a base image, not " + format + " node " + formatNode);
    }
    if (format.equals("qcow2")) {
      if (below == null) {
        node.putNull("backing");
      } else {
        node.put("backing", below);
      }
    }
    argv.add("-blockdev");
    argv.add(node.encode());
  }

  private static String diskNode(int index) {
    return "disk" + index;
  }

  /** The controller or device, then one scsi-hd child per disk on a SCSI controller. */
  private static List<JsonObject> devices(ProxiedDevice device) {
    String id = device.getId();
    String driver = device.getDriver();
    JsonObject qdev = new JsonObject().put("driver", driver).put("id", id);
    switch (driver) {
      case "lsi53c895a", "megasas" -> {
        List<JsonObject> all = new ArrayList<>();
        all.add(qdev);
        boolean diskIdsFit = device.getDisksList().stream()
            .allMatch(d -> id.length() + 1 + d.getId().length() <= MAX_QEMU_ID);
        for (int i = 0; i < device.getDisksCount(); i++) {
          all.add(new JsonObject()
              .put("driver", "scsi-hd")
              .put("id", id + "-" + (diskIdsFit ? device.getDisks(i).getId() : "d" + i))
              .put("bus", id + ".0")
              .put("scsi-id", SpecValidator.scsiIdOf(device, i))
              .put("drive", diskNode(i)));
        }
        return all;
      }
      case "nvme" -> {
        requireOneDisk(device);
        return List.of(qdev.put("drive", diskNode(0)).put("serial", device.getDisks(0).getId()));
      }
      case "virtio-blk-pci" -> {
        requireOneDisk(device);
        return List.of(qdev.put("drive", diskNode(0)));
      }
      default -> throw new IllegalArgumentException("no command line known for driver " + driver);
    }
  }

  private static void requireOneDisk(ProxiedDevice device) {
    if (device.getDisksCount() != 1) {
      throw new IllegalArgumentException(
          device.getDriver() + " device " + device.getId() + " needs exactly one disk, not " + device.getDisksCount());
    }
  }
}
