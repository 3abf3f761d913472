package io.mpqemu.controlplane.store;

import com.google.protobuf.Timestamp;
import io.mpqemu.v1.DesiredState;
import io.mpqemu.v1.Disk;
import io.mpqemu.v1.EventType;
import io.mpqemu.v1.Phase;
import io.mpqemu.v1.ProcessRole;
import io.mpqemu.v1.ProcessState;
import io.mpqemu.v1.ProcessStatus;
import io.mpqemu.v1.ProxiedDevice;
import io.mpqemu.v1.RestartPolicy;
import io.mpqemu.v1.VmEvent;
import io.mpqemu.v1.VmSpec;
import io.mpqemu.v1.VmStatus;
import java.time.Instant;
import java.util.Map;

/** VMs and events for the store tests. */
final class StoreFixtures {

  static final Instant CREATED = Instant.parse("2025-03-01T10:15:30.123456789Z");

  private StoreFixtures() {}

  static VmSpec spec(String name, Map<String, String> labels) {
    return VmSpec.newBuilder()
        .setName(name)
        .setMemoryMib(256)
        .setVcpus(2)
        .setMachine("q35")
        .addDevices(ProxiedDevice.newBuilder().setId("scsi0").setDriver("lsi53c895a")
            .addDisks(Disk.newBuilder().setId("boot").setImage("images/boot.raw").setFormat("raw").setScsiId(0)))
        .putAllLabels(labels)
        .putNodeSelector("zone", "a")
        .setRestartPolicy(RestartPolicy.ON_FAILURE)
        .build();
  }

  static VmStatus status(Phase phase, String node) {
    return VmStatus.newBuilder()
        .setPhase(phase)
        .setNode(node)
        .setReason("Because")
        .setMessage("as a test wants it")
        .addProcesses(ProcessStatus.newBuilder().setName("main").setRole(ProcessRole.PROCESS_ROLE_MAIN)
            .setPid(4242).setState(ProcessState.PROCESS_STATE_EXITED).setExitStatus(0).setSignal("SIGKILL"))
        .setLastEventSeq(7)
        .build();
  }

  static StoredVm vm(String id, String name) {
    return vm(id, name, Phase.PHASE_PENDING, "", Map.of());
  }

  static StoredVm vm(String id, String name, Phase phase, String node, Map<String, String> labels) {
    return new StoredVm(id, spec(name, labels), DesiredState.RUNNING, 1, status(phase, node), CREATED, CREATED, "");
  }

  static VmEvent event(String vmId, EventType type) {
    return VmEvent.newBuilder()
        .setVmId(vmId)
        .setVmName("name-of-" + vmId)
        .setType(type)
        .setPhase(Phase.PHASE_PENDING)
        .setReason("Testing")
        .setMessage(type + " for " + vmId)
        .setTime(Timestamp.newBuilder().setSeconds(1_740_000_000L).setNanos(5))
        .build();
  }

  /** A change that records one event about {@code vmId}. */
  static Change oneEvent(String vmId) {
    return Change.builder().event(event(vmId, EventType.RECONCILED)).build();
  }
}
