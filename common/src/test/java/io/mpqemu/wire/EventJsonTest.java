package io.mpqemu.wire;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.Descriptors.FieldDescriptor;
import com.google.protobuf.Timestamp;
import com.google.protobuf.util.JsonFormat;
import io.mpqemu.v1.EventType;
import io.mpqemu.v1.Phase;
import io.mpqemu.v1.ProcessRole;
import io.mpqemu.v1.ProcessState;
import io.mpqemu.v1.ProcessStatus;
import io.mpqemu.v1.VmEvent;
import io.vertx.core.json.JsonObject;
import java.util.List;
import java.util.stream.Collectors;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

class EventJsonTest {

  /** Every field set, with values at the edges of their JSON forms. */
  private static VmEvent full(int nanos) {
    return VmEvent.newBuilder().setSeq(Long.MAX_VALUE).setVmSeq(-1L /* 2^64-1 */).setVmId("vm-1").setVmName("web")
        .setNode("node-a").setType(EventType.PROCESS_EXITED).setPhase(Phase.PHASE_FAILED).setReason("DeviceProcessExited")
        .setMessage("device lsi0 process (pid 12) exited, \"quoted\" é \n").setTime(Timestamp.newBuilder()
            .setSeconds(1_796_000_000L).setNanos(nanos))
        .setProcess(ProcessStatus.newBuilder().setName("lsi0").setRole(ProcessRole.PROCESS_ROLE_DEVICE).setPid(4_000_000_123L)
            .setState(ProcessState.PROCESS_STATE_EXITED).setExitStatus(0).setSignal("SIGKILL")
            .setStartedAt(Timestamp.newBuilder().setSeconds(1_795_999_999L).setNanos(1)).setUid(-5 /* 2^32-5 */)
            .setCpuSeconds(1.25).setRssBytes(1L << 40).setCgroupMemoryBytes(-2L))
        .setRepeats(-1 /* 2^32-1 */).setLeaderEpoch(7).build();
  }

  private static JsonObject jsonFormat(VmEvent e) throws Exception {
    return new JsonObject(JsonFormat.printer().print(e));
  }

  private static VmEvent jsonFormat(String json) throws Exception {
    VmEvent.Builder b = VmEvent.newBuilder();
    JsonFormat.parser().ignoringUnknownFields().merge(json, b);
    return b.build();
  }

  @Test
  @DisplayName("an event prints as protobuf's JSON and reads back, with every field set, with none, and with each"
      + " precision of time")
  void sameAsJsonFormat() throws Exception {
    List<VmEvent> events = List.of(full(0), full(21_000_000), full(21_000), full(21), VmEvent.getDefaultInstance(),
        VmEvent.newBuilder().setVmId("vm-2").setType(EventType.LAUNCHED).setPhase(Phase.PHASE_RUNNING).setProcess(
            ProcessStatus.newBuilder().setName("main").setExitStatus(0)).build());
    for (VmEvent e : events) {
      JsonObject ours = EventJson.toJson(e);
      assertThat(ours).as("printed: %s", e).isEqualTo(jsonFormat(e));
      assertThat(EventJson.fromJson(ours)).isEqualTo(e);
      assertThat(jsonFormat(ours.encode())).as("protobuf reads what it printed").isEqualTo(e);
      assertThat(EventJson.fromJson(jsonFormat(e))).isEqualTo(e);
    }
  }

  @Test
  @DisplayName("it maps every field of VmEvent and ProcessStatus: a field added to the messages fails here until it does")
  void everyFieldMapped() {
    JsonObject printed = EventJson.toJson(full(1));
    assertThat(printed.fieldNames()).containsExactlyInAnyOrderElementsOf(jsonNames(VmEvent.getDescriptor().getFields()));
    assertThat(printed.getJsonObject("process").fieldNames())
        .containsExactlyInAnyOrderElementsOf(jsonNames(ProcessStatus.getDescriptor().getFields()));
  }

  private static List<String> jsonNames(List<FieldDescriptor> fields) {
    return fields.stream().map(FieldDescriptor::getJsonName).collect(Collectors.toList());
  }

  @Test
  @DisplayName("what it does not map is read as protobuf reads it: the proto's own field names, numbers as JSON numbers"
      + " or strings, an enum by number, a field it does not know (skipped)")
  void readsWhatProtobufReads() throws Exception {
    JsonObject json = new JsonObject().put("vm_id", "vm-3").put("vmSeq", 4).put("type", 12).put("phase", "PHASE_RUNNING")
        .put("time", "2026-12-01T10:00:00+01:00").put("fromANewerAgent", true)
        .put("process", new JsonObject().put("pid", 42).put("cpuSeconds", "NaN"));

    VmEvent e = EventJson.fromJson(json);

    assertThat(e).isEqualTo(jsonFormat(json.encode()));
    assertThat(e.getVmId()).isEqualTo("vm-3");
    assertThat(e.getVmSeq()).isEqualTo(4);
    assertThat(e.getProcess().getPid()).isEqualTo(42);
    assertThat(e.getTime().getSeconds()).isEqualTo(1_796_115_600L);
  }

  @Test
  @DisplayName("a value protobuf prints as a string (a CPU time that is not a number) prints as protobuf prints it")
  void nonFiniteAsJsonFormat() throws Exception {
    VmEvent e = VmEvent.newBuilder().setVmId("vm-4").setProcess(ProcessStatus.newBuilder().setName("main")
        .setCpuSeconds(Double.NaN)).build();

    assertThat(EventJson.toJson(e)).isEqualTo(jsonFormat(e));
    assertThat(EventJson.toJson(e).getJsonObject("process").getString("cpuSeconds")).isEqualTo("NaN");
    assertThat(EventJson.fromJson(EventJson.toJson(e))).isEqualTo(e);
  }

  @Test
  @DisplayName("what is not a VmEvent is refused with protobuf's reason")
  void refusesNonEvents() {
    assertThatThrownBy(() -> EventJson.fromJson(new JsonObject().put("vmSeq", "many")))
        .isInstanceOf(IllegalArgumentException.class).hasMessageStartingWith("not a VmEvent: ");
    assertThatThrownBy(() -> EventJson.fromJson(new JsonObject().put("type", "NO_SUCH_TYPE").put("vmId", List.of())))
        .isInstanceOf(IllegalArgumentException.class).hasMessageStartingWith("not a VmEvent: ");
  }
}
