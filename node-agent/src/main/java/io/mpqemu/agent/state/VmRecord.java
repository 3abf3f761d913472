package io.mpqemu.agent.state;

import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.util.JsonFormat;
import io.mpqemu.v1.Phase;
import io.mpqemu.v1.VmSpec;
import io.mpqemu.wire.SpecJson;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/**
 * What the agent records about a VM in its state directory.
 *
 * @param launchComplete false from the first step of a launch until the guest runs: a record found
 *     with false after a restart is an interrupted launch, to be cleaned up, never adopted
 * @param guestReadyAt when the serial output matched the spec's ready_pattern in this launch, or null
 * @param uidFirst the first of the VM's uids while confined (its main QEMU's)
 * @param uidCount how many uids the VM holds; 0 when it never ran confined
 */
public record VmRecord(
    String vmId,
    VmSpec spec,
    long specRevision,
    Phase phase,
    String reason,
    String message,
    long lastVmSeq,
    boolean launchComplete,
    String accelerator,
    Instant launchedAt,
    Instant guestReadyAt,
    List<ProcessRecord> processes,
    long uidFirst,
    int uidCount) {

  public VmRecord {
    processes = List.copyOf(processes);
  }

  public JsonObject toJson() {
    JsonArray procs = new JsonArray();
    for (ProcessRecord p : processes) {
      procs.add(new JsonObject()
          .put("name", p.name())
          .put("pid", p.pid())
          .put("startedAt", p.startedAt().toString())
          .put("uid", p.uid()));
    }
    return new JsonObject()
        .put("version", 1)
        .put("vmId", vmId)
        .put("spec", new JsonObject(SpecJson.of(spec)))
        .put("specRevision", specRevision)
        .put("phase", phase.name())
        .put("reason", reason)
        .put("message", message)
        .put("lastVmSeq", lastVmSeq)
        .put("launchComplete", launchComplete)
        .put("accelerator", accelerator)
        .put("launchedAt", launchedAt == null ? null : launchedAt.toString())
        .put("guestReadyAt", guestReadyAt == null ? null : guestReadyAt.toString())
        .put("processes", procs)
        .put("uids", uidCount == 0 ? null : new JsonObject().put("first", uidFirst).put("size", uidCount));
  }

  public static VmRecord fromJson(JsonObject json) {
    VmSpec.Builder spec = VmSpec.newBuilder();
    try {
      JsonFormat.parser().merge(json.getJsonObject("spec").encode(), spec);
    } catch (InvalidProtocolBufferException e) {
      throw new IllegalArgumentException("bad spec in state file: " + e.getMessage(), e);
    }
    List<ProcessRecord> procs = new ArrayList<>();
    for (Object o : json.getJsonArray("processes", new JsonArray())) {
      JsonObject p = (JsonObject) o;
      procs.add(new ProcessRecord(p.getString("name"), p.getLong("pid"), Instant.parse(p.getString("startedAt")),
          p.getLong("uid", 0L)));
    }
    String launchedAt = json.getString("launchedAt");
    String guestReadyAt = json.getString("guestReadyAt");
    JsonObject uids = json.getJsonObject("uids");
    return new VmRecord(
        json.getString("vmId"),
        spec.build(),
        json.getLong("specRevision", 0L),
        Phase.valueOf(json.getString("phase")),
        json.getString("reason", ""),
        json.getString("message", ""),
        json.getLong("lastVmSeq", 0L),
        json.getBoolean("launchComplete", false),
        json.getString("accelerator", ""),
        launchedAt == null ? null : Instant.parse(launchedAt),
        guestReadyAt == null ? null : Instant.parse(guestReadyAt),
        procs,
        uids == null ? 0 : uids.getLong("first"),
        uids == null ? 0 : uids.getInteger("size"));
  }

  /** Whether the process named {@code name} serves one of the spec's NICs (a device process of its own). */
  public boolean nicProcess(String name) {
    return spec.getNicsList().stream().anyMatch(n -> n.getId().equals(name) && io.mpqemu.spec.NicRules.inDeviceProcess(n));
  }
}
