package io.mpqemu.agent.qemu;

import java.io.Closeable;
import java.io.FileDescriptor;
import java.io.IOException;

/**
 * A connected QMP socket, line by line. Blocking: call it from a worker or a dedicated thread,
 * never from an event loop. The UNIX socket implementation lives in {@code io.mpqemu.agent.unix}.
 */
public interface QmpTransport extends Closeable {

  /** Sends one JSON line; when {@code fd} is not null it travels with the line (SCM_RIGHTS). */
  void send(String line, FileDescriptor fd) throws IOException;

  /** The next line, or null at end of stream. */
  String readLine() throws IOException;
}
