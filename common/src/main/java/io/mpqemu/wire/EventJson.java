package io.mpqemu.wire;

import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.ProtocolMessageEnum;
import com.google.protobuf.Timestamp;
import com.google.protobuf.util.JsonFormat;
import io.mpqemu.v1.EventType;
import io.mpqemu.v1.Phase;
import io.mpqemu.v1.ProcessRole;
import io.mpqemu.v1.ProcessState;
import io.mpqemu.v1.ProcessStatus;
import io.mpqemu.v1.VmEvent;
import io.vertx.core.json.JsonObject;
import java.time.DateTimeException;
import java.time.Instant;
import java.time.format.DateTimeFormatter;
import java.util.Map;
import java.util.function.Function;

/**
 * A {@link VmEvent} in its protobuf JSON form (the form the bus carries and the store keeps), written and
 * read field by field. Every launch sends several events through it, and protobuf's reflective {@link
 * JsonFormat} (its parser going through Gson and {@code SimpleDateFormat}) was a tenth of the CPU the agent
 * and control plane spent launching; this does the same mapping directly. What it does not know (a field
 * of a newer agent, a value in another JSON type, the proto's own field names) goes to {@link JsonFormat}
 * as before. The tests hold it to {@link JsonFormat}'s output, field by field, and fail when the messages
 * gain a field it does not map.
 */
public final class EventJson {

  private static final JsonFormat.Printer PRINTER = JsonFormat.printer().omittingInsignificantWhitespace();
  private static final JsonFormat.Parser PARSER = JsonFormat.parser().ignoringUnknownFields();

  private EventJson() {}

  /** The event as protobuf JSON would print it. */
  public static JsonObject toJson(VmEvent e) {
    if (unrecognized(e.getType(), e.getPhase()) || e.hasProcess()
        && unrecognized(e.getProcess().getRole(), e.getProcess().getState())) {
      return viaJsonFormat(e); // an enum value this build does not name prints as a number
    }
    JsonObject json = new JsonObject();
    putUint64(json, "seq", e.getSeq());
    putUint64(json, "vmSeq", e.getVmSeq());
    putString(json, "vmId", e.getVmId());
    putString(json, "vmName", e.getVmName());
    putString(json, "node", e.getNode());
    putEnum(json, "type", e.getType());
    putEnum(json, "phase", e.getPhase());
    putString(json, "reason", e.getReason());
    putString(json, "message", e.getMessage());
    if (e.hasTime()) {
      json.put("time", timestamp(e.getTime()));
    }
    if (e.hasProcess()) {
      try {
        json.put("process", process(e.getProcess()));
      } catch (NotMapped notMapped) {
        return viaJsonFormat(e);
      }
    }
    if (e.getRepeats() != 0) {
      json.put("repeats", Integer.toUnsignedLong(e.getRepeats()));
    }
    putUint64(json, "leaderEpoch", e.getLeaderEpoch());
    return json;
  }

  /**
   * The event in {@code json}; unknown fields are skipped, as protobuf does on the wire.
   *
   * @throws IllegalArgumentException when {@code json} is not a VmEvent
   */
  public static VmEvent fromJson(JsonObject json) {
    try {
      VmEvent.Builder b = VmEvent.newBuilder();
      for (Map.Entry<String, Object> field : json) {
        Object v = field.getValue();
        if (v == null) {
          continue; // protobuf JSON: null is the default
        }
        switch (field.getKey()) {
          case "seq" -> b.setSeq(uint64(v));
          case "vmSeq" -> b.setVmSeq(uint64(v));
          case "vmId" -> b.setVmId((String) v);
          case "vmName" -> b.setVmName((String) v);
          case "node" -> b.setNode((String) v);
          case "type" -> b.setType(named(v, EventType::valueOf));
          case "phase" -> b.setPhase(named(v, Phase::valueOf));
          case "reason" -> b.setReason((String) v);
          case "message" -> b.setMessage((String) v);
          case "time" -> b.setTime(timestamp((String) v));
          case "process" -> b.setProcess(process((JsonObject) v));
          case "repeats" -> b.setRepeats(uint32(v));
          case "leaderEpoch" -> b.setLeaderEpoch(uint64(v));
          default -> throw new NotMapped();
        }
      }
      return b.build();
    } catch (NotMapped | ClassCastException | IllegalArgumentException | DateTimeException | ArithmeticException e) {
      return viaJsonFormat(json);
    }
  }

  private static JsonObject process(ProcessStatus p) {
    JsonObject json = new JsonObject();
    putString(json, "name", p.getName());
    putEnum(json, "role", p.getRole());
    if (p.getPid() != 0) {
      json.put("pid", Long.toString(p.getPid()));
    }
    putEnum(json, "state", p.getState());
    if (p.hasExitStatus()) {
      json.put("exitStatus", p.getExitStatus());
    }
    putString(json, "signal", p.getSignal());
    if (p.hasStartedAt()) {
      json.put("startedAt", timestamp(p.getStartedAt()));
    }
    if (p.getUid() != 0) {
      json.put("uid", Integer.toUnsignedLong(p.getUid()));
    }
    if (Double.doubleToRawLongBits(p.getCpuSeconds()) != 0) {
      if (!Double.isFinite(p.getCpuSeconds())) {
        throw new NotMapped(); // "NaN", "Infinity": JsonFormat prints them as strings
      }
      json.put("cpuSeconds", p.getCpuSeconds());
    }
    putUint64(json, "rssBytes", p.getRssBytes());
    putUint64(json, "cgroupMemoryBytes", p.getCgroupMemoryBytes());
    return json;
  }

  private static ProcessStatus process(JsonObject json) {
    ProcessStatus.Builder b = ProcessStatus.newBuilder();
    for (Map.Entry<String, Object> field : json) {
      Object v = field.getValue();
      if (v == null) {
        continue;
      }
      switch (field.getKey()) {
        case "name" -> b.setName((String) v);
        case "role" -> b.setRole(named(v, ProcessRole::valueOf));
        case "pid" -> b.setPid(int64(v));
        case "state" -> b.setState(named(v, ProcessState::valueOf));
        case "exitStatus" -> b.setExitStatus(Math.toIntExact(integral(v)));
        case "signal" -> b.setSignal((String) v);
        case "startedAt" -> b.setStartedAt(timestamp((String) v));
        case "uid" -> b.setUid(uint32(v));
        case "cpuSeconds" -> b.setCpuSeconds(((Number) v).doubleValue());
        case "rssBytes" -> b.setRssBytes(uint64(v));
        case "cgroupMemoryBytes" -> b.setCgroupMemoryBytes(uint64(v));
        default -> throw new NotMapped();
      }
    }
    return b.build();
  }

  /** A field this mapping does not cover: the whole message goes through {@link JsonFormat}. */
  private static final class NotMapped extends RuntimeException {
    NotMapped() {
      super(null, null, false, false);
    }
  }

  private static JsonObject viaJsonFormat(VmEvent e) {
    try {
      return new JsonObject(PRINTER.print(e));
    } catch (InvalidProtocolBufferException x) {
      throw new IllegalStateException("cannot print a VmEvent as JSON: " + x.getMessage(), x); // it has no Any field
    }
  }

  private static VmEvent viaJsonFormat(JsonObject json) {
    VmEvent.Builder b = VmEvent.newBuilder();
    try {
      PARSER.merge(json.encode(), b);
    } catch (InvalidProtocolBufferException e) {
      throw new IllegalArgumentException("not a VmEvent: " + e.getMessage(), e);
    }
    return b.build();
  }

  private static boolean unrecognized(ProtocolMessageEnum... values) {
    for (ProtocolMessageEnum v : values) {
      if (v instanceof Enum<?> e && e.name().equals("UNRECOGNIZED")) {
        return true;
      }
    }
    return false;
  }

  private static void putString(JsonObject json, String key, String value) {
    if (!value.isEmpty()) {
      json.put(key, value);
    }
  }

  private static void putUint64(JsonObject json, String key, long value) {
    if (value != 0) {
      json.put(key, Long.toUnsignedString(value)); // protobuf JSON writes 64-bit integers as strings
    }
  }

  private static void putEnum(JsonObject json, String key, ProtocolMessageEnum value) {
    if (value.getNumber() != 0) {
      json.put(key, ((Enum<?>) value).name());
    }
  }

  /** RFC 3339 in UTC with 0, 3, 6 or 9 digits of fraction, as protobuf prints a Timestamp. */
  private static String timestamp(Timestamp t) {
    return DateTimeFormatter.ISO_INSTANT.format(Instant.ofEpochSecond(t.getSeconds(), t.getNanos()));
  }

  private static Timestamp timestamp(String text) {
    Instant at = DateTimeFormatter.ISO_INSTANT.parse(text, Instant::from);
    return Timestamp.newBuilder().setSeconds(at.getEpochSecond()).setNanos(at.getNano()).build();
  }

  private static <E> E named(Object v, Function<String, E> valueOf) {
    return valueOf.apply((String) v); // IllegalArgumentException for a name this build does not know
  }

  private static long uint64(Object v) {
    return v instanceof String s ? Long.parseUnsignedLong(s) : nonNegative(integral(v));
  }

  private static long int64(Object v) {
    return v instanceof String s ? Long.parseLong(s) : integral(v);
  }

  private static int uint32(Object v) {
    long n = nonNegative(integral(v));
    if (n > 0xFFFF_FFFFL) {
      throw new ArithmeticException("out of range for uint32: " + n);
    }
    return (int) n;
  }

  private static long nonNegative(long n) {
    if (n < 0) {
      throw new ArithmeticException("negative for an unsigned field: " + n);
    }
    return n;
  }

  /** A JSON number that is an integer (an Integer or Long from the parser; a whole Double too). */
  private static long integral(Object v) {
    Number n = (Number) v;
    if (n instanceof Integer || n instanceof Long) {
      return n.longValue();
    }
    double d = n.doubleValue();
    if (d != Math.rint(d) || Math.abs(d) > 9.007199254740992E15) {
      throw new ArithmeticException("not an integer: " + n);
    }
    return (long) d;
  }
}
