package io.mpqemu.agent.console;

import io.vertx.core.buffer.Buffer;

/** An attached session, as its stream drives it. Agent's loop only. */
public interface ConsoleAttachment {

  /** Input for the guest: written to its serial port if this session is the writer, dropped otherwise. */
  void input(Buffer data);

  /** The client left: the session ends (and, if it was the writer, the console has none). */
  void detach();
}
