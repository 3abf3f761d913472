package io.mpqemu.agent.vm;

import io.mpqemu.agent.images.OpenImages;
import io.mpqemu.agent.qemu.Qmp;
import io.mpqemu.agent.state.ProcessRecord;
import io.mpqemu.agent.state.VmPaths;
import io.mpqemu.agent.state.VmRecord;
import io.mpqemu.v1.AgentVm;
import io.mpqemu.v1.VmSpec;
import io.mpqemu.wire.Timestamps;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * What the agent knows about one VM: its spec, its {@link Lifecycle}, its processes and its QMP
 * session. The parts of the supervisor share it; it only holds facts. Event loop only.
 */
final class Vm {

  /** How long any QMP command may take. */
  static final Duration QMP_TIMEOUT = Duration.ofSeconds(10);

  private final String id;
  private final VmPaths paths;
  private final Lifecycle state = new Lifecycle();
  private final VmProcesses processes = new VmProcesses();
  private VmSpec spec;
  private long specRevision;
  private OpenImages images = OpenImages.none();
  private long vmSeq;
  private Instant launchedAt;
  /** When the serial output matched the spec's ready_pattern in this launch; null until then. */
  private Instant guestReadyAt;
  private String accelerator = "";
  private Qmp qmp;
  /** How its processes are confined; null when confinement is off (or not yet known after a restart). */
  private ConfinedVm jail;
  /** Its uids as recorded (count 0: none), kept even while no jail is known, so the record never loses them. */
  private long uidFirst;
  private int uidCount;

  Vm(String id, VmPaths paths, VmSpec spec, long specRevision) {
    this.id = id;
    this.paths = paths;
    this.spec = spec;
    this.specRevision = specRevision;
  }

  String id() {
    return id;
  }

  VmPaths paths() {
    return paths;
  }

  Lifecycle state() {
    return state;
  }

  VmProcesses processes() {
    return processes;
  }

  VmSpec spec() {
    return spec;
  }

  OpenImages images() {
    return images;
  }

  String accelerator() {
    return accelerator;
  }

  ConfinedVm jail() {
    return jail;
  }

  /** The jail of the launch about to begin, or of the adopted VM; null: its processes run unconfined. */
  void confine(ConfinedVm vmJail) {
    this.jail = vmJail;
    this.uidFirst = vmJail == null ? 0 : vmJail.firstUid();
    this.uidCount = vmJail == null ? 0 : vmJail.size();
  }

  /** The next number of this VM's event sequence. */
  long nextSeq() {
    return ++vmSeq;
  }

  /** The session to the main QEMU, or null. */
  Qmp qmp() {
    return qmp;
  }

  void attach(Qmp client) {
    this.qmp = client;
  }

  void closeQmp() {
    if (qmp != null) {
      qmp.close();
      qmp = null;
    }
  }

  /** A launch of {@code newSpec} begins: no process, no session, LAUNCHING. */
  void beginLaunch(VmSpec newSpec, long revision, OpenImages diskImages, String accel) {
    this.spec = newSpec;
    this.specRevision = revision;
    this.images = diskImages;
    processes.clear();
    qmp = null;
    launchedAt = null;
    guestReadyAt = null;
    accelerator = accel;
    state.beginLaunch();
  }

  void launched(Instant at) {
    launchedAt = at;
    state.launched();
  }

  Instant guestReadyAt() {
    return guestReadyAt;
  }

  void guestReady(Instant at) {
    guestReadyAt = at;
  }

  /** What a previous agent recorded, taken over as it is. */
  void restore(VmRecord rec) {
    spec = rec.spec();
    specRevision = rec.specRevision();
    vmSeq = rec.lastVmSeq();
    launchedAt = rec.launchedAt();
    guestReadyAt = rec.guestReadyAt();
    accelerator = rec.accelerator();
    uidFirst = rec.uidFirst();
    uidCount = rec.uidCount();
    state.restore(rec.phase(), rec.reason(), rec.message(), rec.launchComplete());
  }

  AgentVm toAgentVm() {
    AgentVm.Builder b = AgentVm.newBuilder()
        .setVmId(id).setSpec(spec).setSpecRevision(specRevision).setPhase(state.phase())
        .setReason(state.reason()).setMessage(state.message()).setLastVmSeq(vmSeq).setAccelerator(accelerator)
        // CONFINEMENT_ON (1) or CONFINEMENT_OFF (2) of types.proto
        .setConfinementValue(uidCount > 0 ? 1 : 2);
    if (launchedAt != null) {
      b.setLaunchedAt(Timestamps.of(launchedAt));
    }
    if (guestReadyAt != null) {
      b.setGuestReadyAt(Timestamps.of(guestReadyAt));
    }
    for (VmProcess p : processes.inSpecOrder(spec)) {
      b.addProcesses(p.status());
    }
    return b.build();
  }

  /** The record of the state file: what a restarted agent needs to find the VM's processes again. */
  VmRecord record() {
    List<ProcessRecord> recs = new ArrayList<>();
    for (VmProcess p : processes.inSpecOrder(spec)) {
      if (!p.hasExited()) {
        recs.add(new ProcessRecord(p.name(), p.pid(), p.process().startedAt(), p.uid()));
      }
    }
    return new VmRecord(id, spec, specRevision, state.phase(), state.reason(), state.message(), vmSeq,
        state.launchComplete(), accelerator, launchedAt, guestReadyAt, recs, uidFirst, uidCount);
  }
}
