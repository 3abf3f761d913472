package io.mpqemu.controlplane.events;

import io.mpqemu.v1.VmEvent;

/** Where a subscription delivers, with flow control. Called on the control plane's event loop. */
public interface EventSink {

  /** False while the subscriber has not taken what it was sent. */
  boolean writable();

  void write(VmEvent event);

  /** Called once when the sink becomes writable again. */
  void drainHandler(Runnable onDrain);

  /** The subscription ends because the subscriber fell behind; {@code lastSeq} is the last event it was sent. */
  void overflow(long lastSeq);

  /**
   * The subscriber asked for events the log no longer keeps (retention removed them): the oldest kept is
   * {@code firstKept}. Nothing was sent.
   */
  void outOfRange(long firstKept);

  /** A snapshot subscription sent everything up to the end it was given. */
  void complete();

  /** The subscription could not read the log. */
  void fail(Throwable cause);
}
