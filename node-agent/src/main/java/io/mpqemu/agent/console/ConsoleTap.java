package io.mpqemu.agent.console;

import io.mpqemu.agent.console.ConsoleClient.Notice;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.net.NetSocket;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The agent's one connection to a running VM's console socket, open while at least one session is
 * attached: the output goes into the history and to every session; the writer's input goes to the
 * guest. Closes when its last session leaves or the main QEMU exits. Agent's loop only.
 */
final class ConsoleTap {

  private static final Logger LOG = LoggerFactory.getLogger(Consoles.class);

  private final String vmId;
  private final NetSocket socket;
  private final History history;
  private final Runnable whenClosed;
  private final List<Session> sessions = new ArrayList<>();
  private Session writer;
  private boolean closed;

  /** @param whenClosed run once when the connection closes, whatever the cause */
  ConsoleTap(String vmId, NetSocket socket, History history, Runnable whenClosed) {
    this.vmId = vmId;
    this.socket = socket;
    this.history = history;
    this.whenClosed = whenClosed;
    socket.handler(this::output);
    socket.closeHandler(v -> closed("the VM's console closed: its main QEMU has exited"));
    socket.exceptionHandler(e -> LOG.debug("vm={} console socket: {}", vmId, e.toString()));
  }

  private void output(Buffer data) {
    byte[] bytes = data.getBytes();
    history.append(bytes);
    for (Session s : List.copyOf(sessions)) {
      s.client.output(data);
    }
  }

  /** Attaches a session: it gets the last {@code historyBytes} of output, then ATTACHED, then live output. */
  ConsoleAttachment attach(ConsoleClient client, String who, boolean write, boolean force, int historyBytes) {
    if (closed) {
      throw new ConsoleException(ConsoleException.Kind.PRECONDITION, "the console of VM " + vmId + " has just closed");
    }
    if (write && writer != null && !force) {
      throw new ConsoleException(ConsoleException.Kind.PRECONDITION, "the console of VM " + vmId + " already has a"
          + " writer (" + writer.who + ", since " + writer.since + "): attach read-only, or take over with force");
    }
    Session s = new Session(client, who, Instant.now());
    sessions.add(s);
    Buffer past = history.last(historyBytes);
    if (past.length() > 0) {
      client.output(past);
    }
    Session previous = write ? writer : null;
    if (write) {
      writer = s;
    }
    client.notice(Notice.ATTACHED, "attached to the console of VM " + vmId + (write ? " as its writer" : " read-only")
        + (previous != null ? ", taking over from " + previous.who : "") + "; " + past.length()
        + " bytes of recent output came first", write);
    if (previous != null) {
      previous.client.notice(Notice.WRITER_TAKEN_OVER, who + " took over writing to the console of VM " + vmId
          + " (force): this session only reads from now on", false);
      LOG.info("vm={} console writer {} taken over by {}", vmId, previous.who, who);
    }
    LOG.info("vm={} console attached: {} ({}); {} session(s)", vmId, who, write ? "writer" : "reader", sessions.size());
    return s;
  }

  /** Closes the connection (the VM stopped, or the agent stops); the sessions are told {@code why}. */
  void close(String why) {
    if (!closed) {
      closed(why);
      socket.close();
    }
  }

  private void closed(String why) {
    if (closed) {
      return;
    }
    closed = true;
    for (Session s : sessions) {
      s.client.closed(why);
    }
    sessions.clear();
    writer = null;
    whenClosed.run();
  }

  private final class Session implements ConsoleAttachment {
    private final ConsoleClient client;
    private final String who;
    private final Instant since;
    private boolean toldIgnored;

    Session(ConsoleClient client, String who, Instant since) {
      this.client = client;
      this.who = who;
      this.since = since;
    }

    @Override
    public void input(Buffer data) {
      if (closed || !sessions.contains(this)) {
        return;
      }
      if (writer == this) {
        socket.write(data);
      } else if (!toldIgnored) {
        toldIgnored = true;
        client.notice(Notice.INPUT_IGNORED, "input dropped: this session only reads the console of VM " + vmId
            + (writer == null ? "" : " (" + writer.who + " writes)"), false);
      }
    }

    @Override
    public void detach() {
      if (sessions.remove(this)) {
        if (writer == this) {
          writer = null;
        }
        LOG.info("vm={} console detached: {}; {} session(s) left", vmId, who, sessions.size());
        if (sessions.isEmpty()) {
          close("nobody is attached"); // a connected client that reads late makes QEMU log bytes twice
        }
      }
    }
  }
}
