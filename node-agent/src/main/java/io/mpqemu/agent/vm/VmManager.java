package io.mpqemu.agent.vm;

import io.mpqemu.agent.images.ImageException;
import io.mpqemu.agent.images.ImageOpener;
import io.mpqemu.agent.images.OpenImages;
import io.mpqemu.agent.process.ProcessMarker;
import io.mpqemu.agent.process.ProcessTable;
import io.mpqemu.agent.state.ConsoleLog;
import io.mpqemu.agent.state.VmPaths;
import io.mpqemu.agent.state.VmRecord;
import io.mpqemu.errors.Failures;
import io.mpqemu.net.UnixSocketPaths;
import io.mpqemu.spec.InvalidSpecException;
import io.mpqemu.spec.SpecValidator;
import io.mpqemu.v1.AgentVm;
import io.mpqemu.v1.VmSpec;
import io.vertx.core.Future;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The VMs of this node, one {@link VmSupervisor} each. Validates requests, keeps launches idempotent
 * per VM id and spec, enforces the node's capacity, and adopts what a previous agent left running.
 * Runs on the agent's event loop.
 */
public final class VmManager {

  private static final Logger LOG = LoggerFactory.getLogger(VmManager.class);

  private final VmRuntime rt;
  private final ImageOpener images;
  private final Map<String, VmSupervisor> vms = new LinkedHashMap<>();
  /** Supervisors whose memory counts against the node from a launch request until it is decided. */
  private final Set<VmSupervisor> reserved = new HashSet<>();

  private final OwnDisks overlays;

  /** @param overlays the VMs' own disks over catalog bases, removed with their VMs */
  public VmManager(VmRuntime rt, ImageOpener images, OwnDisks overlays) {
    this.rt = rt;
    this.images = images;
    this.overlays = overlays;
  }

  public Future<AgentVm> launch(String vmId, VmSpec spec, long revision) {
    rt.requireOnLoop();
    try {
      SpecValidator.validateVmId(vmId);
      SpecValidator.validate(spec, rt.config().limits());
    } catch (InvalidSpecException e) {
      return Future.failedFuture(new VmException(VmException.Kind.INVALID_SPEC, e.getMessage()));
    }
    if (vmId.length() > rt.config().maxVmIdLength()) {
      return Future.failedFuture(new VmException(VmException.Kind.INVALID_SPEC, "vm_id is " + vmId.length()
          + " characters; this node's state dir leaves room for " + rt.config().maxVmIdLength() + " in its QMP socket"
          + " path (a UNIX socket path has at most " + UnixSocketPaths.MAX_BYTES + " bytes)"));
    }
    VmSupervisor existing = live(vmId).orElse(null);
    if (existing != null && !existing.spec().equals(spec)) {
      return Future.failedFuture(new VmException(VmException.Kind.ALREADY_EXISTS, "VM " + vmId
          + " already exists on this node with another spec; delete it first or use another id"));
    }
    if (existing == null) {
      Optional<VmSupervisor> sameName = vms.values().stream()
          .filter(s -> !s.forgotten() && s.spec().getName().equals(spec.getName())).findFirst();
      if (sameName.isPresent()) {
        return Future.failedFuture(new VmException(VmException.Kind.ALREADY_EXISTS, "a VM named '" + spec.getName()
            + "' already exists on this node (id " + sameName.get().vmId() + ")"));
      }
    }
    boolean needsCapacity = existing == null || !holdsResources(existing);
    if (needsCapacity) {
      String full = capacityProblem(spec, existing);
      if (full != null) {
        return Future.failedFuture(new VmException(VmException.Kind.NO_CAPACITY, full));
      }
    }
    boolean fresh = existing == null;
    VmSupervisor sup = fresh ? new VmSupervisor(rt, vmId, spec, revision) : existing;
    vms.put(vmId, sup);
    if (needsCapacity) {
      reserved.add(sup);
    }
    // the launch borrows the opened images; each QEMU process holds its own copies once started
    return rt.blocking(() -> openImages(vmId, spec))
        .compose(opened -> sup.launch(spec, revision, opened).andThen(ar -> opened.close()))
        .andThen(ar -> {
          if (needsCapacity) {
            reserved.remove(sup);
          }
          if (fresh && ar.failed()) {
            vms.remove(vmId, sup);
            removeOverlays(vmId); // a VM never launched has no data of its own yet
          }
          dropIfForgotten(sup);
        });
  }

  private OpenImages openImages(String vmId, VmSpec spec) {
    try {
      return images.openAll(vmId, spec);
    } catch (ImageException e) {
      throw new VmException(switch (e.kind()) {
        case FORBIDDEN -> VmException.Kind.IMAGE_FORBIDDEN;
        case UNAVAILABLE, UNSAFE -> VmException.Kind.IMAGE_UNAVAILABLE;
      }, e.getMessage());
    }
  }

  private String capacityProblem(VmSpec spec, VmSupervisor self) {
    long used = 0;
    int running = 0;
    for (VmSupervisor s : vms.values()) {
      if (s != self && holdsResources(s)) {
        used += s.spec().getMemoryMib();
        running++;
      }
    }
    if (running + 1 > rt.config().maxVms()) {
      return "this node runs its maximum of " + rt.config().maxVms() + " VMs";
    }
    if (used + spec.getMemoryMib() > rt.config().memoryMib()) {
      return "this node has " + (rt.config().memoryMib() - used) + " MiB of guest memory left, the VM asks for "
          + spec.getMemoryMib() + " MiB";
    }
    return null;
  }

  public Future<AgentVm> stop(String vmId, Duration timeout, boolean force) {
    rt.requireOnLoop();
    return find(vmId).compose(s -> s.stop(timeout, force));
  }

  public Future<Void> delete(String vmId, boolean force) {
    rt.requireOnLoop();
    return find(vmId).compose(s -> s.delete(force).andThen(ar -> dropIfForgotten(s)))
        .compose(v -> removeOverlays(vmId));
  }

  /** The VM's own disks over catalog bases go with it. */
  private Future<Void> removeOverlays(String vmId) {
    return rt.<Void>blocking(() -> {
      overlays.remove(vmId);
      return null;
    }).onFailure(e -> LOG.warn("vm={} node={} its disks could not be removed: {}", vmId, rt.nodeId(), e.getMessage()));
  }

  public Future<AgentVm> get(String vmId) {
    rt.requireOnLoop();
    return find(vmId).map(VmSupervisor::toAgentVm);
  }

  public List<AgentVm> list() {
    rt.requireOnLoop();
    return vms.values().stream().filter(s -> !s.forgotten()).map(VmSupervisor::toAgentVm)
        .sorted(Comparator.comparing(AgentVm::getVmId)).toList();
  }

  public Future<ConsoleLog.Tail> consoleLog(String vmId, int maxBytes) {
    rt.requireOnLoop();
    return find(vmId).compose(s -> rt.blocking(() -> ConsoleLog.tail(s.paths(), maxBytes)));
  }

  /** See {@link VmSupervisor#guestReady}; nothing when the VM is gone. */
  public void guestReady(String vmId, java.time.Instant at) {
    rt.requireOnLoop();
    live(vmId).ifPresent(s -> s.guestReady(at));
  }

  /** See {@link VmSupervisor#nicAddressLearnt}; nothing when the VM is gone. */
  public void nicAddressLearnt(String vmId, String nicId, String mac, String address) {
    rt.requireOnLoop();
    live(vmId).ifPresent(s -> s.nicAddressLearnt(nicId, mac, address));
  }

  /** The agent stops: every VM keeps running, untouched; see {@link VmSupervisor#detach}. */
  public void detachAll() {
    rt.requireOnLoop();
    vms.values().forEach(VmSupervisor::detach);
  }

  public long allocatedMemoryMib() {
    return vms.values().stream().filter(this::holdsResources).mapToLong(s -> s.spec().getMemoryMib()).sum();
  }

  public int count() {
    return (int) vms.values().stream().filter(s -> !s.forgotten()).count();
  }

  /** Keeps every running VM's console log under its bound. */
  public Future<Void> rotateLogs() {
    List<VmPaths> running = vms.values().stream().filter(this::holdsResources).map(VmSupervisor::paths).toList();
    return rt.blocking(() -> {
      for (VmPaths p : running) {
        ConsoleLog.rotateAllIfLarger(p, rt.config().consoleLogMaxBytes());
      }
      return null;
    });
  }

  /**
   * At start-up: finds every VM directory a previous agent left, and adopts, cleans up or loads each.
   * Also kills QEMU processes that name a VM directory without a state file (a launch cut short
   * before its first write).
   */
  public Future<Void> adoptAll() {
    rt.requireOnLoop();
    return rt.blocking(this::scanStateDirectories).compose(found -> {
      List<Future<Void>> adoptions = new ArrayList<>();
      for (Found f : found) {
        if (f.record == null) {
          adoptions.add(cleanOrphanDirectory(f));
          continue;
        }
        if (!f.record.vmId().equals(f.paths.vmId()) || !SpecValidator.isValidVmId(f.record.vmId())) {
          LOG.warn("node={} {} names VM id '{}', not its directory's: not adopted; nothing of it is killed or removed",
              rt.nodeId(), f.paths.stateFile(), f.record.vmId());
          continue;
        }
        VmSupervisor sup = new VmSupervisor(rt, f.record.vmId(), f.record.spec(), f.record.specRevision());
        vms.put(f.record.vmId(), sup);
        adoptions.add(sup.adopt(f.record, f.pids).andThen(ar -> {
          if (ar.failed()) {
            LOG.warn("vm={} node={} adoption failed: {}", f.record.vmId(), rt.nodeId(), Failures.describe(ar.cause()));
          }
          dropIfForgotten(sup);
        }));
      }
      return Future.join(adoptions).compose(v -> removeOrphanOverlays());
    });
  }

  /** Disks of VMs this node no longer knows (an agent that died while deleting one): removed at start-up. */
  private Future<Void> removeOrphanOverlays() {
    return rt.blocking(overlays::vmIds).compose(ids -> {
      List<Future<Void>> removals = new ArrayList<>();
      for (String id : ids) {
        if (live(id).isEmpty()) {
          LOG.info("node={} removing the disks of VM {}, which this node no longer knows", rt.nodeId(), id);
          removals.add(removeOverlays(id));
        }
      }
      return Future.join(removals).mapEmpty();
    });
  }

  private record Found(VmPaths paths, VmRecord record, List<Long> pids) {}

  private List<Found> scanStateDirectories() throws Exception {
    List<Found> found = new ArrayList<>();
    for (VmPaths p : rt.store().list()) {
      VmRecord rec = null;
      try {
        rec = rt.store().read(p).orElse(null);
      } catch (RuntimeException e) {
        LOG.warn("node={} unreadable state file {}: {}; treating it as an interrupted launch", rt.nodeId(), p.stateFile(), e.getMessage());
      }
      // by the marker; and by the state directory in the command line, for processes an agent of an
      // earlier version started (they carry no marker, but a -pidfile in the VM's directory)
      Set<Long> pids = new TreeSet<>(rt.scanner().withMarker(ProcessMarker.vm(rt.config().stateDir(), p.vmId())));
      pids.addAll(rt.scanner().withArgumentStartingWith(p.dir() + "/"));
      found.add(new Found(p, rec, List.copyOf(pids)));
    }
    return found;
  }

  private Future<Void> cleanOrphanDirectory(Found f) {
    return rt.<Void>blocking(() -> {
      // only processes of this agent's: the VM's marker and a uid of the range (or the agent's own)
      List<Long> ours = f.pids.stream().filter(pid -> ProcessTable.uid(pid).stream()
          .anyMatch(rt.confinement()::ownsUid)).toList();
      if (!ProcessTable.killAndAwait(ours, Duration.ofSeconds(10))) {
        throw new IllegalStateException("processes " + f.pids + " of " + f.paths.dir() + " still run 10 s after SIGKILL");
      }
      if (Files.exists(f.paths.dir())) {
        rt.store().delete(f.paths);
      }
      return null;
    }).onSuccess(v -> LOG.info("node={} removed {} left by an interrupted launch (killed {} process(es) {})",
        rt.nodeId(), f.paths.dir(), f.pids.size(), f.pids));
  }

  /** Holds guest memory: about to launch, launching, running, paused or stopping. */
  private boolean holdsResources(VmSupervisor s) {
    return reserved.contains(s) || s.isActive();
  }

  private Optional<VmSupervisor> live(String vmId) {
    VmSupervisor s = vms.get(vmId);
    return s == null || s.forgotten() ? Optional.empty() : Optional.of(s);
  }

  private Future<VmSupervisor> find(String vmId) {
    return live(vmId).map(Future::succeededFuture).orElseGet(() ->
        Future.failedFuture(new VmException(VmException.Kind.NOT_FOUND, "VM " + vmId + " does not exist on this node")));
  }

  private void dropIfForgotten(VmSupervisor s) {
    if (s.forgotten()) {
      vms.remove(s.vmId(), s);
    }
  }
}
