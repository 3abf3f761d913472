package io.mpqemu.controlplane.cli;

import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.MessageOrBuilder;
import com.google.protobuf.Timestamp;
import com.google.protobuf.util.JsonFormat;
import io.mpqemu.v1.DesiredState;
import io.mpqemu.v1.NodeState;
import io.mpqemu.v1.Phase;
import io.mpqemu.v1.VmRef;
import io.mpqemu.wire.Timestamps;
import java.time.temporal.ChronoUnit;
import java.util.Locale;
import java.util.regex.Pattern;

/** How values read for a human, and protobuf's JSON form for scripts. */
final class Formats {

  /** The ids the control plane assigns: a lowercase UUID. */
  private static final Pattern VM_ID = Pattern.compile("[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}");

  private Formats() {}

  /** An argument that looks like a VM id names the VM by id, anything else by name. */
  static VmRef vmRef(String idOrName) {
    return VM_ID.matcher(idOrName).matches()
        ? VmRef.newBuilder().setId(idOrName).build()
        : VmRef.newBuilder().setName(idOrName).build();
  }

  static String phase(Phase phase) {
    return phase == Phase.PHASE_UNSPECIFIED || phase == Phase.UNRECOGNIZED ? "" : phase.name().substring("PHASE_".length());
  }

  static String state(NodeState state) {
    return state == NodeState.NODE_STATE_UNSPECIFIED || state == NodeState.UNRECOGNIZED
        ? "" : state.name().substring("NODE_STATE_".length());
  }

  /** Unspecified reads as RUNNING, as the API treats it. */
  static String desired(DesiredState desired) {
    return desired == DesiredState.DESIRED_STATE_UNSPECIFIED ? DesiredState.RUNNING.name() : desired.name();
  }

  /** "2024-05-01T10:00:00Z", or empty when unset. */
  static String time(Timestamp t) {
    if (t.getSeconds() == 0 && t.getNanos() == 0) {
      return "";
    }
    return Timestamps.instant(t).truncatedTo(ChronoUnit.SECONDS).toString();
  }

  /** CPU time as "12.34s", or empty when none was reported (the process is gone, or not sampled yet). */
  static String cpuSeconds(double seconds) {
    return seconds <= 0 ? "" : String.format(Locale.ROOT, "%.2fs", seconds);
  }

  /** Memory as "183.4MiB", or empty when none was reported. */
  static String mebibytes(long bytes) {
    return bytes <= 0 ? "" : String.format(Locale.ROOT, "%.1fMiB", bytes / (1024.0 * 1024));
  }

  /** Protobuf JSON over several lines, for one object. */
  static String json(MessageOrBuilder message) {
    try {
      return JsonFormat.printer().print(message);
    } catch (InvalidProtocolBufferException e) {
      throw new IllegalStateException(e);
    }
  }

  /** Protobuf JSON on one line, for lists and streams. */
  static String jsonLine(MessageOrBuilder message) {
    try {
      return JsonFormat.printer().omittingInsignificantWhitespace().print(message);
    } catch (InvalidProtocolBufferException e) {
      throw new IllegalStateException(e);
    }
  }
}
