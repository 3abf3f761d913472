package io.mpqemu.wire;

import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.util.JsonFormat;
import io.mpqemu.v1.VmSpec;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The protobuf JSON form of VM specs (compact), remembered for the {@value #KEPT} specs printed last. A
 * VM's spec is the same message at every write of its status (the control plane's store rows, the agent's
 * {@code vm.json}), and protobuf's reflective printer is among the costliest things a launch does: each
 * spec is printed once, not at each write. Thread-safe.
 */
public final class SpecJson {

  static final int KEPT = 1024;
  private static final JsonFormat.Printer PRINTER = JsonFormat.printer().omittingInsignificantWhitespace();
  private static final Map<VmSpec, String> PRINTED = new LinkedHashMap<>(64, 0.75f, true) {
    @Override
    protected boolean removeEldestEntry(Map.Entry<VmSpec, String> eldest) {
      return size() > KEPT;
    }
  };

  private SpecJson() {}

  /** {@code spec} as compact protobuf JSON (equal specs print alike, so a remembered one serves). */
  public static String of(VmSpec spec) {
    synchronized (PRINTED) {
      String printed = PRINTED.get(spec);
      if (printed != null) {
        return printed;
      }
    }
    String printed;
    try {
      printed = PRINTER.print(spec);
    } catch (InvalidProtocolBufferException e) {
      // a VmSpec has no Any field: nothing in it can fail to print
      throw new IllegalStateException("cannot print a VmSpec as JSON: " + e.getMessage(), e);
    }
    synchronized (PRINTED) {
      PRINTED.put(spec, printed);
    }
    return printed;
  }

  /** How many printed specs are remembered now. */
  static int remembered() {
    synchronized (PRINTED) {
      return PRINTED.size();
    }
  }
}
