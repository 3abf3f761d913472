package io.mpqemu.agent.console;

import io.vertx.core.buffer.Buffer;

/**
 * One attached session as the console sees it: where its output, notices and end go. Called on the
 * agent's loop; an implementation hands each call over to its own loop, in order.
 */
public interface ConsoleClient {

  /** What happened to a session, told to it on its stream. */
  enum Notice {
    /** The recent output has been sent; live output follows. */
    ATTACHED,
    /** It was the writer and another session took over with force: it reads from now on. */
    WRITER_TAKEN_OVER,
    /** It sent input without being the writer: dropped (told once). */
    INPUT_IGNORED
  }

  void output(Buffer data);

  void notice(Notice notice, String message, boolean writer);

  /** The console closed under the session (the VM stopped, or the agent stops): its stream ends. */
  void closed(String why);
}
