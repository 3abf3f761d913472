package io.mpqemu.wire;

import com.google.protobuf.Timestamp;
import java.time.Instant;

/** {@link Instant} to and from {@code google.protobuf.Timestamp}. */
public final class Timestamps {

  private Timestamps() {}

  public static Timestamp of(Instant t) {
    return Timestamp.newBuilder().setSeconds(t.getEpochSecond()).setNanos(t.getNano()).build();
  }

  public static Instant instant(Timestamp t) {
    return Instant.ofEpochSecond(t.getSeconds(), t.getNanos());
  }
}
