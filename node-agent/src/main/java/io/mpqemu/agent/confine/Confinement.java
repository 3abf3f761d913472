package io.mpqemu.agent.confine;

import io.mpqemu.agent.process.ProcessTable;
import io.mpqemu.agent.vm.ConfinedVm;
import io.mpqemu.agent.vm.ProcessConfinement;
import io.mpqemu.spec.SpecValidator;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The node's confinement of QEMU processes (see {@link VmJail} for what a process goes through), or
 * none with {@code --confinement=off}. Owns the uid range and its lock, the {@link ProcessView} and
 * the cgroups. Blocking methods say so.
 */
public final class Confinement implements ProcessConfinement, AutoCloseable {

  private static final long MIB = 1024 * 1024;
  /** What a device process needs besides guest RAM it may touch for DMA (its code, heap, buffers). */
  static final long DEVICE_OVERHEAD = 256 * MIB;
  /**
   * What the main QEMU needs besides guest RAM: code, heap, and under TCG its translation cache, bounded to
   * {@code QemuCommandLine.TCG_TRANSLATION_CACHE_MIB} (QEMU's default of 1 GiB would not fit).
   */
  static final long MAIN_OVERHEAD = 512 * MIB;

  private final ConfinementSettings settings;
  private final UidAllocator allocator;
  private final RangeLock lock;
  private final ProcessView view;
  private final Cgroups cgroups;
  private final OptionalLong kvmGid;
  private final Map<String, VmJail> jails = new ConcurrentHashMap<>();
  private final long agentUid = ProcessTable.ownUid();

  private Confinement(ConfinementSettings settings, UidAllocator allocator, RangeLock lock, ProcessView view,
      Cgroups cgroups, OptionalLong kvmGid) {
    this.settings = settings;
    this.allocator = allocator;
    this.lock = lock;
    this.view = view;
    this.cgroups = cgroups;
    this.kvmGid = kvmGid;
  }

  /**
   * What {@code settings} ask for on this host: confinement needs root, and an agent that is not
   * root refuses to start unless confinement is off. Blocking.
   */
  public static Confinement forAgent(ConfinementSettings settings, Path stateDir, Path qemuBinary, int maxDevicesPerVm)
      throws IOException {
    if (!settings.enabled()) {
      return off(settings);
    }
    long euid = ((Number) Files.getAttribute(Path.of("/proc/self"), "unix:uid")).longValue();
    if (euid != 0) {
      throw new IOException("confining QEMU processes (a uid of their own, namespaces, cgroups) needs root, and this "
          + "agent runs as uid " + euid + ": run it as root, or pass --confinement=off to run every QEMU process as "
          + "this user with its view of the host");
    }
    String key = Cgroups.keyFor(stateDir);
    Path real = resolve(qemuBinary); // fails now, with a clear message, rather than at the first launch
    if (!Files.getPosixFilePermissions(real).contains(java.nio.file.attribute.PosixFilePermission.OTHERS_EXECUTE)) {
      throw new IOException(real + " is not executable by other users, and confined QEMU processes run under uids of"
          + " their own: make it mode 0755");
    }
    List<Path> extra = qemuBinary.isAbsolute() && !qemuBinary.startsWith("/usr/") ? List.of(qemuBinary) : List.of();
    return on(settings, stateDir, extra, key, maxDevicesPerVm);
  }

  /** The real path of {@code binary}, looked up as the spawn's PATH would when it is a bare name. */
  public static Path resolve(Path binary) throws IOException {
    if (binary.isAbsolute()) {
      return binary.toRealPath();
    }
    for (String dir : List.of("/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin")) {
      Path p = Path.of(dir).resolve(binary);
      if (Files.isExecutable(p)) {
        return p.toRealPath();
      }
    }
    throw new IOException(binary + " is not in /usr/local/sbin, /usr/local/bin, /usr/sbin, /usr/bin, /sbin or /bin");
  }

  /** No confinement: every QEMU process runs as the agent's user, with the agent's view. */
  public static Confinement off(ConfinementSettings settings) {
    return new Confinement(settings.withEnabled(false), null, null, null, null, OptionalLong.empty());
  }

  /**
   * Sets confinement up: refuses a uid range that an account or another agent uses, builds the view
   * (with {@code extraFiles}, the QEMU binary when it lies outside /usr, bound at their paths) and
   * finds the cgroups. Blocking; needs root.
   *
   * @param key tells this agent's cgroups from another agent's on the same host
   */
  static Confinement on(ConfinementSettings settings, Path workDir, List<Path> extraFiles, String key,
      int maxDevicesPerVm) throws IOException {
    UidRange range = settings.uids();
    List<String> conflicts = range.conflicts(Path.of("/etc"));
    if (!conflicts.isEmpty()) {
      throw new IOException("the uid range " + range + " is in use on this host: " + String.join(", ", conflicts)
          + "; give the agent a free one with --uid-range FIRST-LAST");
    }
    RangeLock lock = RangeLock.acquire(RangeLock.DIR, range);
    try {
      OptionalLong kvm = groupId("kvm");
      ProcessView view = ProcessView.build(workDir.resolve("view"), kvm.isPresent(), extraFiles);
      // the first uid is the probe's; VMs get blocks from the rest
      UidRange forVms = new UidRange(range.first() + 1, range.count() - 1);
      UidAllocator allocator = new UidAllocator(forVms, 1 + maxDevicesPerVm, liveUids(range));
      Cgroups cgroups = Cgroups.detect(key);
      cgroups.prune();
      return new Confinement(settings, allocator, lock, view, cgroups, kvm);
    } catch (IOException | RuntimeException e) {
      lock.close();
      throw e;
    }
  }

  public boolean enabled() {
    return settings.enabled();
  }

  /** One line for the start-up log and GetNodeInfo: what is enforced. */
  public String detail() {
    if (!enabled()) {
      return "off: QEMU processes run as the agent's user with its capabilities and its view of the host";
    }
    return "uids " + settings.uids() + ", no capabilities, no_new_privs, namespaces mount,net,ipc,uts, "
        + "a view of /usr and a private /dev, /proc and /tmp only, rlimits nofile=" + settings.nofile() + " (device "
        + settings.deviceNofile() + ") core=0, pids " + settings.mainPids() + "+vCPUs (device " + settings.devicePids() + "), "
        + cgroups.describe() + (kvmGid.isPresent() ? ", kvm group " + kvmGid.getAsLong() + " for the main QEMU"
        : ", no kvm group (KVM only for a root QEMU)");
  }

  /**
   * The VM's jail for a launch: its uids (allocated at its first launch and kept until it is
   * deleted) and its cgroups, limited for {@code memoryMib} of guest RAM, {@code specVcpus} and
   * the device processes among {@code processGroups} ("dev-<id>", in spec order). Empty when
   * confinement is off. Blocking.
   */
  @Override
  public Optional<ConfinedVm> prepare(String vmId, List<String> processGroups, long memoryMib, int specVcpus)
      throws IOException {
    if (!enabled()) {
      return Optional.empty();
    }
    UidBlock block = allocator.allocate(vmId).orElseThrow(() -> new IOException("no free uids left in "
        + settings.uids() + " for another VM: delete VMs or widen --uid-range"));
    int vcpus = SpecValidator.vcpusOrDefault(specVcpus);
    List<String> deviceNames = processGroups.stream().filter(g -> !g.equals("main")).toList();
    long guest = memoryMib * MIB;
    Map<String, ProcessLimits> limits = new LinkedHashMap<>();
    limits.put("main", new ProcessLimits(settings.nofile(), settings.mainPids() + vcpus, guest + MAIN_OVERHEAD, vcpus + 1));
    for (String d : deviceNames) {
      limits.put(d, new ProcessLimits(settings.deviceNofile(), settings.devicePids(), guest + DEVICE_OVERHEAD, 1));
    }
    ProcessLimits whole = new ProcessLimits(settings.nofile(),
        settings.mainPids() + vcpus + settings.devicePids() * deviceNames.size(),
        guest + MAIN_OVERHEAD + DEVICE_OVERHEAD * deviceNames.size(), 0);
    VmJail jail = new VmJail(block, cgroups.create(vmId, whole, limits), view.enterPath(), kvmGid, settings.nofile(),
        settings.deviceNofile());
    jails.put(vmId, jail);
    return Optional.of(jail);
  }

  /**
   * After a restart: takes over the uids a VM's record names, unless they lie outside the range or
   * belong to another VM (then they are not to be trusted). With confinement off they are trusted
   * if they lie in the range, and no jail is made.
   */
  @Override
  public AdoptedUids adopt(String vmId, long firstUid, int size) {
    UidBlock recorded = new UidBlock(firstUid, size);
    if (!enabled()) {
      return new AdoptedUids(settings.uids().contains(recorded.first()) && settings.uids().contains(recorded.last()), null);
    }
    if (!allocator.reserve(vmId, recorded)) {
      return new AdoptedUids(false, null);
    }
    VmJail jail = new VmJail(recorded, cgroups.existing(vmId), view.enterPath(), kvmGid, settings.nofile(),
        settings.deviceNofile());
    jails.put(vmId, jail);
    return new AdoptedUids(true, jail);
  }

  @Override
  public boolean ownsUid(long uid) {
    return uid == agentUid || settings.uids().contains(uid);
  }

  /** The VM and every process of it are gone for good: its cgroups go, its uids are free. Blocking. */
  @Override
  public void release(String vmId) {
    VmJail jail = jails.remove(vmId);
    if (jail != null) {
      jail.removeCgroups();
    }
    if (allocator != null) {
      allocator.release(vmId);
    }
  }

  /** {@code argv} as a main QEMU would run (for the accelerator probe); unchanged when off. */
  public List<String> asMainWould(List<String> argv) {
    if (!enabled()) {
      return argv;
    }
    return VmJail.wrap(List.of(), view.enterPath(), settings.uids().first(), kvmGid, settings.nofile(), false, argv);
  }

  /** The uid of the agent: what an unconfined QEMU process runs as. */
  @Override
  public long agentUid() {
    return agentUid;
  }

  @Override
  public void close() throws IOException {
    if (cgroups != null) {
      cgroups.pruneAll(); // running VMs keep their groups: a group holding a process stays
    }
    if (view != null) {
      view.close();
    }
    if (lock != null) {
      lock.close();
    }
  }

  static OptionalLong groupId(String name) throws IOException {
    for (String line : Files.readAllLines(Path.of("/etc/group"), StandardCharsets.UTF_8)) {
      String[] f = line.split(":");
      if (f.length > 2 && f[0].equals(name)) {
        return OptionalLong.of(Long.parseLong(f[2]));
      }
    }
    return OptionalLong.empty();
  }

  /** Uids in {@code range} that running processes have: strays a previous agent left. */
  private static Set<Long> liveUids(UidRange range) throws IOException {
    Set<Long> found = new HashSet<>();
    try (DirectoryStream<Path> entries = Files.newDirectoryStream(Path.of("/proc"), "[0-9]*")) {
      for (Path entry : entries) {
        try {
          long uid = ((Number) Files.getAttribute(entry, "unix:uid")).longValue() & 0xFFFF_FFFFL;
          if (range.contains(uid)) {
            found.add(uid);
          }
        } catch (IOException e) {
          // exited meanwhile
        }
      }
    }
    return found;
  }
}
