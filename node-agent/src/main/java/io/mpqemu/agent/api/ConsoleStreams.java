package io.mpqemu.agent.api;

import io.mpqemu.access.Access;
import io.mpqemu.access.AccessPolicy;
import io.mpqemu.access.Caller;
import io.mpqemu.access.StreamLimit;
import io.mpqemu.agent.console.ConsoleAttachment;
import io.mpqemu.agent.console.ConsoleClient;
import io.mpqemu.agent.console.ConsoleException;
import io.mpqemu.agent.console.Consoles;
import io.mpqemu.spec.InvalidSpecException;
import io.mpqemu.spec.SpecValidator;
import io.mpqemu.v1.AgentConsoleInput;
import io.mpqemu.v1.AgentConsoleOpen;
import io.mpqemu.v1.ConsoleNotice;
import io.mpqemu.v1.ConsoleOutput;
import io.vertx.core.Context;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.grpc.common.GrpcStatus;
import io.vertx.grpc.server.GrpcServerRequest;
import io.vertx.grpc.server.GrpcServerResponse;
import io.vertx.grpc.server.StatusException;
import com.google.protobuf.ByteString;

/**
 * AttachConsole: one stream per session. The first message opens it (checked here: the VM id, the
 * history asked for, and operator access for a writer), later ones carry input. The session's output
 * is written on the caller's loop; the console itself lives on the agent's.
 */
final class ConsoleStreams {

  /** Output a client may have queued before it is cut off: a console that scrolls faster is not read. */
  static final int QUEUE_LIMIT = 256;
  /**
   * Set by a control plane relaying a session: whom it relays for, shown to other sessions beside the
   * caller's own identity (so a caller that sets it names no one but itself falsely).
   */
  static final String ON_BEHALF_OF = "mpqemu-console-user";

  private final Context agent;
  private final Consoles consoles;
  private final AccessPolicy policy;
  private final StreamLimit streams;

  ConsoleStreams(Context agent, Consoles consoles, AccessPolicy policy, StreamLimit streams) {
    this.agent = agent;
    this.consoles = consoles;
    this.policy = policy;
    this.streams = streams;
  }

  void handle(GrpcServerRequest<AgentConsoleInput, ConsoleOutput> call) {
    Stream stream = new Stream(call, Vertx.currentContext());
    call.handler(stream::message);
    call.endHandler(v -> stream.end(null));
    call.errorHandler(e -> stream.gone());
    call.response().exceptionHandler(e -> stream.gone());
  }

  private final class Stream implements ConsoleClient {
    private final GrpcServerRequest<AgentConsoleInput, ConsoleOutput> call;
    private final GrpcServerResponse<AgentConsoleInput, ConsoleOutput> response;
    private final Context caller;
    private boolean opened;
    /** Written on the caller's loop; read on the agent's too. */
    private volatile boolean ended;
    private Runnable release;
    /** Set on the agent's loop; read there only. */
    private ConsoleAttachment attachment;

    Stream(GrpcServerRequest<AgentConsoleInput, ConsoleOutput> call, Context caller) {
      this.call = call;
      this.response = call.response();
      this.caller = caller;
    }

    /** On the caller's loop. */
    void message(AgentConsoleInput in) {
      if (ended) {
        return;
      }
      if (!opened) {
        open(in);
      } else if (in.hasOpen()) {
        fail(GrpcStatus.INVALID_ARGUMENT, "open comes once, in the first message; later messages carry data");
      } else {
        Buffer data = Buffer.buffer(in.getData().toByteArray());
        agent.runOnContext(v -> {
          if (attachment != null) {
            attachment.input(data);
          }
        });
      }
    }

    private void open(AgentConsoleInput in) {
      opened = true;
      if (!in.hasOpen()) {
        fail(GrpcStatus.INVALID_ARGUMENT, "the first message must be open, naming the VM");
        return;
      }
      AgentConsoleOpen open = in.getOpen();
      try {
        SpecValidator.validateVmId(open.getVmId());
      } catch (InvalidSpecException e) {
        fail(GrpcStatus.INVALID_ARGUMENT, e.getMessage());
        return;
      }
      int history = open.getOptions().getHistoryBytes();
      if (history < 0 || history > Consoles.HISTORY_CAPACITY) {
        fail(GrpcStatus.INVALID_ARGUMENT, "history_bytes must be at most " + Consoles.HISTORY_CAPACITY + ", was "
            + Integer.toUnsignedString(history));
        return;
      }
      boolean write = open.getOptions().getWrite();
      if (open.getOptions().getForce() && !write) {
        fail(GrpcStatus.INVALID_ARGUMENT, "force takes over writing: it needs write");
        return;
      }
      Caller who = policy.callerOf(call.connection());
      if (write && !who.access().includes(Access.OPERATOR)) {
        fail(GrpcStatus.PERMISSION_DENIED, who.description() + " may read consoles but not write to them (that needs"
            + " operator access): attach without write");
        return;
      }
      release = streams.open(who).orElse(null);
      if (release == null) {
        fail(GrpcStatus.RESOURCE_EXHAUSTED, streams.refusal(who));
        return;
      }
      String name = describe(who, call.headers().get(ON_BEHALF_OF));
      int historyBytes = history == 0 ? Consoles.DEFAULT_HISTORY : history;
      response.setWriteQueueMaxSize(QUEUE_LIMIT);
      call.pause();
      agent.runOnContext(v -> consoles.attach(open.getVmId(), this, name, write, open.getOptions().getForce(), historyBytes)
          .onComplete(ar -> {
            if (ar.failed()) {
              caller.runOnContext(x -> fail(ar.cause()));
            } else if (ended) {
              ar.result().detach(); // the client left while it was being attached
            } else {
              attachment = ar.result();
              caller.runOnContext(x -> call.resume());
            }
          }));
    }

    /** The caller as other sessions are told of it; whom it relays for comes with it, never instead of it. */
    private static String describe(Caller who, String onBehalfOf) {
      if (onBehalfOf != null && !onBehalfOf.isEmpty() && onBehalfOf.length() <= 200
          && onBehalfOf.chars().allMatch(c -> c >= 0x20 && c < 0x7f)) {
        return onBehalfOf + " (through " + who.description() + ")";
      }
      return who.description();
    }

    // ------------------------------------------------------------ ConsoleClient, called on the agent's loop

    @Override
    public void output(Buffer data) {
      ConsoleOutput out = ConsoleOutput.newBuilder().setData(ByteString.copyFrom(data.getBytes())).build();
      caller.runOnContext(v -> write(out));
    }

    @Override
    public void notice(Notice notice, String message, boolean writer) {
      ConsoleOutput out = ConsoleOutput.newBuilder().setNotice(ConsoleNotice.newBuilder().setKind(switch (notice) {
        case ATTACHED -> ConsoleNotice.Kind.ATTACHED;
        case WRITER_TAKEN_OVER -> ConsoleNotice.Kind.WRITER_TAKEN_OVER;
        case INPUT_IGNORED -> ConsoleNotice.Kind.INPUT_IGNORED;
      }).setMessage(message).setWriter(writer)).build();
      caller.runOnContext(v -> write(out));
    }

    @Override
    public void closed(String why) {
      caller.runOnContext(v -> fail(GrpcStatus.FAILED_PRECONDITION, why));
    }

    // ------------------------------------------------------------ on the caller's loop

    private void write(ConsoleOutput out) {
      if (ended) {
        return;
      }
      if (response.writeQueueFull()) {
        fail(GrpcStatus.RESOURCE_EXHAUSTED, "the console's output came faster than this client read it; attach again");
        return;
      }
      response.write(out).onFailure(e -> gone());
    }

    /** The client half-closed (why == null) or the session ends with an error. */
    void end(Throwable why) {
      if (ended) {
        return;
      }
      ended = true;
      detach();
      if (why == null) {
        response.end();
      } else {
        response.fail(why);
      }
    }

    private void fail(GrpcStatus status, String message) {
      end(new StatusException(status, message));
    }

    private void fail(Throwable cause) {
      if (cause instanceof ConsoleException ce) {
        fail(switch (ce.kind()) {
          case NOT_FOUND -> GrpcStatus.NOT_FOUND;
          case PRECONDITION -> GrpcStatus.FAILED_PRECONDITION;
          case UNAVAILABLE -> GrpcStatus.UNAVAILABLE;
        }, ce.getMessage());
      } else {
        end(Statuses.toStatus(cause));
      }
    }

    /** The client went away (cancelled, or its connection broke). */
    void gone() {
      if (!ended) {
        ended = true;
        detach();
      }
    }

    private void detach() {
      if (release != null) {
        release.run();
        release = null;
      }
      agent.runOnContext(v -> {
        if (attachment != null) {
          attachment.detach();
          attachment = null;
        }
      });
    }
  }
}
