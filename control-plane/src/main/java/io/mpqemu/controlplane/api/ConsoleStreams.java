package io.mpqemu.controlplane.api;

import io.mpqemu.access.Access;
import io.mpqemu.access.AccessPolicy;
import io.mpqemu.access.Caller;
import io.mpqemu.access.StreamLimit;
import io.mpqemu.grpc.ConsoleCall;
import io.mpqemu.grpc.GrpcCallException;
import io.mpqemu.http.OnContext;
import io.mpqemu.v1.AgentConsoleInput;
import io.mpqemu.v1.ConsoleInput;
import io.mpqemu.v1.ConsoleOpen;
import io.mpqemu.v1.ConsoleOutput;
import io.vertx.core.Context;
import io.vertx.core.Vertx;
import io.vertx.grpc.common.GrpcStatus;
import io.vertx.grpc.server.GrpcServerRequest;
import io.vertx.grpc.server.GrpcServerResponse;
import io.vertx.grpc.server.StatusException;
import java.util.Set;
import java.util.function.Function;

/**
 * AttachConsole: each session is relayed to the VM's node, whose agent holds the console. The first
 * message is checked here (the VM, the history asked for, operator access for a writer); then input
 * goes to the node and output comes back, until either side ends, and the end is passed on.
 */
final class ConsoleStreams {

  /** Output a client may have queued before it is cut off. */
  static final int QUEUE_LIMIT = 256;
  static final int MAX_HISTORY = 64 * 1024;
  /** What the node answers that the caller can act on, passed on as it is; anything else means the node failed. */
  private static final Set<GrpcStatus> PASSED_ON = Set.of(GrpcStatus.FAILED_PRECONDITION, GrpcStatus.NOT_FOUND,
      GrpcStatus.INVALID_ARGUMENT, GrpcStatus.PERMISSION_DENIED, GrpcStatus.RESOURCE_EXHAUSTED);

  private final Context controlPlane;
  private final ConsoleRelay relay;
  private final AccessPolicy policy;
  private final StreamLimit streams;
  private final Function<Throwable, Throwable> toStatus;

  ConsoleStreams(Context controlPlane, ConsoleRelay relay, AccessPolicy policy, StreamLimit streams,
      Function<Throwable, Throwable> toStatus) {
    this.controlPlane = controlPlane;
    this.relay = relay;
    this.policy = policy;
    this.streams = streams;
    this.toStatus = toStatus;
  }

  void handle(GrpcServerRequest<ConsoleInput, ConsoleOutput> call) {
    Session s = new Session(call, Vertx.currentContext());
    call.handler(s::message);
    call.endHandler(v -> s.clientLeft());
    call.errorHandler(e -> s.gone());
    call.response().exceptionHandler(e -> s.gone());
  }

  /** One relayed session; everything here runs on the client's loop. */
  private final class Session {
    private final GrpcServerRequest<ConsoleInput, ConsoleOutput> call;
    private final GrpcServerResponse<ConsoleInput, ConsoleOutput> response;
    private final Context caller;
    private boolean opened;
    private boolean ended;
    private Runnable release;
    private ConsoleCall<AgentConsoleInput> node;

    Session(GrpcServerRequest<ConsoleInput, ConsoleOutput> call, Context caller) {
      this.call = call;
      this.response = call.response();
      this.caller = caller;
    }

    void message(ConsoleInput in) {
      if (ended) {
        return;
      }
      if (!opened) {
        open(in);
      } else if (in.hasOpen()) {
        fail(new StatusException(GrpcStatus.INVALID_ARGUMENT, "open comes once, in the first message; later messages"
            + " carry data"));
      } else {
        node.send(in.getData().toByteArray());
        if (node.backedUp()) {
          call.pause(); // the node has not taken the last input yet
          node.drained(call::resume);
        }
      }
    }

    private void open(ConsoleInput in) {
      opened = true;
      if (!in.hasOpen() || !in.getOpen().hasVm()) {
        fail(new StatusException(GrpcStatus.INVALID_ARGUMENT, "the first message must be open, naming the VM (vm.id or"
            + " vm.name)"));
        return;
      }
      ConsoleOpen open = in.getOpen();
      int history = open.getOptions().getHistoryBytes();
      if (history < 0 || history > MAX_HISTORY) {
        fail(new StatusException(GrpcStatus.INVALID_ARGUMENT, "history_bytes must be at most " + MAX_HISTORY + ", was "
            + Integer.toUnsignedString(history)));
        return;
      }
      if (open.getOptions().getForce() && !open.getOptions().getWrite()) {
        fail(new StatusException(GrpcStatus.INVALID_ARGUMENT, "force takes over writing: it needs write"));
        return;
      }
      Caller who = policy.callerOf(call.connection());
      if (open.getOptions().getWrite() && !who.access().includes(Access.OPERATOR)) {
        fail(new StatusException(GrpcStatus.PERMISSION_DENIED, who.description() + " may read consoles but not write"
            + " to them (that needs operator access): attach without write"));
        return;
      }
      release = streams.open(who).orElse(null);
      if (release == null) {
        fail(new StatusException(GrpcStatus.RESOURCE_EXHAUSTED, streams.refusal(who)));
        return;
      }
      response.setWriteQueueMaxSize(QUEUE_LIMIT);
      call.pause();
      OnContext.call(controlPlane, () -> relay.attach(open.getVm(), open.getOptions(), who.description(),
          out -> caller.runOnContext(v -> output(out))))
          .onComplete(ar -> caller.runOnContext(v -> attached(ar.succeeded() ? ar.result() : null, ar.cause())));
    }

    private void attached(ConsoleCall<AgentConsoleInput> call, Throwable failure) {
      if (failure != null) {
        fail(nodeStatus(failure));
        return;
      }
      if (ended) {
        call.cancel(); // the client left while the node attached it
        return;
      }
      node = call;
      node.ended().onComplete(ar -> caller.runOnContext(v -> {
        if (ar.succeeded()) {
          end(null);
        } else {
          fail(nodeStatus(ar.cause()));
        }
      }));
      this.call.resume();
    }

    private void output(ConsoleOutput out) {
      if (ended) {
        return;
      }
      if (response.writeQueueFull()) {
        fail(new StatusException(GrpcStatus.RESOURCE_EXHAUSTED, "the console's output came faster than this client"
            + " read it; attach again"));
        return;
      }
      response.write(out).onFailure(e -> gone());
    }

    /** The client half-closed: the node session ends, and its OK ends this stream. */
    void clientLeft() {
      if (node != null && !ended) {
        node.close();
      } else {
        end(null);
      }
    }

    /** The client went away without a word. */
    void gone() {
      if (!ended) {
        ended = true;
        finish();
      }
    }

    private void fail(Throwable status) {
      end(status);
    }

    private void end(Throwable why) {
      if (ended) {
        return;
      }
      ended = true;
      finish();
      if (why == null) {
        response.end();
      } else {
        response.fail(why);
      }
    }

    private void finish() {
      if (release != null) {
        release.run();
        release = null;
      }
      if (node != null) {
        node.cancel();
      }
    }

    private Throwable nodeStatus(Throwable e) {
      if (e instanceof GrpcCallException g && PASSED_ON.contains(g.status())) {
        return new StatusException(g.status(), g.serverMessage());
      }
      return toStatus.apply(e);
    }
  }
}
