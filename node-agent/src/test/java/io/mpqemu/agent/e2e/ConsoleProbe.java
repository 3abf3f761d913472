package io.mpqemu.agent.e2e;

import com.google.protobuf.ByteString;
import io.mpqemu.grpc.ConsoleCall;
import io.mpqemu.grpc.GrpcCallException;
import io.mpqemu.testing.Await;
import io.mpqemu.v1.AgentConsoleInput;
import io.mpqemu.v1.AgentConsoleOpen;
import io.mpqemu.v1.ConsoleAttachOptions;
import io.mpqemu.v1.ConsoleNotice;
import io.mpqemu.v1.ConsoleOutput;
import io.mpqemu.v1.NodeAgentServiceGrpcClient;
import io.vertx.core.Future;
import io.vertx.core.MultiMap;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CopyOnWriteArrayList;

/** A console session on an agent, as a client would hold one: what it was sent, and a way to type. */
final class ConsoleProbe {

  final StringBuffer output = new StringBuffer();
  final List<ConsoleNotice> notices = new CopyOnWriteArrayList<>();
  private ConsoleCall<AgentConsoleInput> call;

  private ConsoleProbe() {}

  static Future<ConsoleProbe> open(AgentHarness agent, String vmId, ConsoleAttachOptions options) {
    ConsoleProbe probe = new ConsoleProbe();
    AgentConsoleInput open = AgentConsoleInput.newBuilder()
        .setOpen(AgentConsoleOpen.newBuilder().setVmId(vmId).setOptions(options)).build();
    return ConsoleCall.open(agent.grpcClient(), agent.address(), NodeAgentServiceGrpcClient.AttachConsole,
        MultiMap.caseInsensitiveMultiMap(), open, b -> AgentConsoleInput.newBuilder().setData(ByteString.copyFrom(b)).build(),
        probe::received, null).map(c -> {
          probe.call = c;
          return probe;
        });
  }

  /** Attached, with its ATTACHED notice received. */
  static ConsoleProbe attach(AgentHarness agent, String vmId, boolean write, boolean force) {
    ConsoleProbe p = AgentHarness.result(open(agent, vmId, ConsoleAttachOptions.newBuilder().setWrite(write)
        .setForce(force).build()));
    p.awaitNotice(ConsoleNotice.Kind.ATTACHED);
    return p;
  }

  /** The refusal of an attach that must fail. */
  static GrpcCallException refusal(AgentHarness agent, String vmId, ConsoleAttachOptions options) {
    Future<ConsoleProbe> f = open(agent, vmId, options).compose(p -> p.call.ended().map(p));
    Throwable e = Await.failure(f);
    if (e instanceof GrpcCallException g) {
      return g;
    }
    throw new AssertionError("expected a status, got " + e, e);
  }

  private void received(ConsoleOutput out) {
    if (out.hasNotice()) {
      notices.add(out.getNotice());
    } else {
      output.append(out.getData().toString(StandardCharsets.ISO_8859_1));
    }
  }

  void type(String text) {
    AgentHarness.result(call.send(text.getBytes(StandardCharsets.US_ASCII)));
  }

  /** Waits until the output holds {@code text}; answers all of the output. */
  String awaitOutput(String text, Duration within) {
    return awaitOutput(0, text, within);
  }

  /** Waits until the output from offset {@code from} on holds {@code text}; answers that output. */
  String awaitOutput(int from, String text, Duration within) {
    return Await.atMost(within).every(Duration.ofMillis(50)).until(() -> output.substring(from), s -> s.contains(text),
        s -> "the console did not show '" + text + "'; it showed: " + s);
  }

  ConsoleNotice awaitNotice(ConsoleNotice.Kind kind) {
    return Await.atMost(Duration.ofSeconds(30)).until(
        () -> notices.stream().filter(n -> n.getKind() == kind).findFirst().orElse(null), Objects::nonNull,
        none -> "no " + kind + " notice; notices: " + notices);
  }

  /** How the stream ended (it must end with an error), waiting for it. */
  GrpcCallException awaitFailure() {
    Throwable e = Await.failure(call.ended());
    if (e instanceof GrpcCallException g) {
      return g;
    }
    throw new AssertionError("expected a status, got " + e, e);
  }

  /** Leaves as a client does: half-closes; the agent ends the stream with OK. */
  void leave() {
    call.close();
    AgentHarness.result(call.ended());
  }
}
