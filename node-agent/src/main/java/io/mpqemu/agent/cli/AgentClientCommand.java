package io.mpqemu.agent.cli;

import com.google.protobuf.Message;
import com.google.protobuf.util.JsonFormat;
import io.mpqemu.grpc.MessageLimits;
import io.mpqemu.grpc.GrpcCallException;
import io.mpqemu.grpc.ServerStreams;
import io.mpqemu.grpc.UnaryCalls;
import io.mpqemu.net.Endpoint;
import io.mpqemu.v1.AgentConsoleLogRequest;
import io.mpqemu.v1.AgentDeleteVmRequest;
import io.mpqemu.v1.AgentGetVmRequest;
import io.mpqemu.v1.AgentStopVmRequest;
import io.mpqemu.v1.GetNodeInfoRequest;
import io.mpqemu.v1.LaunchVmRequest;
import io.mpqemu.v1.ListAgentVmsRequest;
import io.mpqemu.v1.NodeAgentServiceGrpcClient;
import io.mpqemu.v1.VmSpec;
import io.mpqemu.v1.WatchAgentEventsRequest;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.net.SocketAddress;
import io.vertx.grpc.client.GrpcClient;
import io.vertx.grpc.common.ServiceMethod;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.function.Function;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

/**
 * {@code node-agent client ...}: talks to an agent's gRPC API and prints answers in protobuf's JSON
 * form. Exit codes: 0 success, 1 the agent answered with an error, 2 bad usage, 3 unreachable.
 */
@Command(name = "client", description = "Talk to a node agent.", subcommands = {
    AgentClientCommand.Launch.class, AgentClientCommand.Stop.class, AgentClientCommand.Delete.class,
    AgentClientCommand.Get.class, AgentClientCommand.ListVms.class, AgentClientCommand.Console.class,
    AgentClientCommand.Info.class, AgentClientCommand.Watch.class})
public final class AgentClientCommand {

  @Option(names = "--agent", defaultValue = "${env:MPQEMU_AGENT:-unix:/run/mpqemu/agent.sock}",
      description = "The agent's gRPC address: unix:/path or tcp:host:port (env MPQEMU_AGENT; default: ${DEFAULT-VALUE}).")
  String agent;

  /** A unary call: prints the answer, or the agent's status and message. */
  <Req, Resp> int call(ServiceMethod<Resp, Req> method, Req request, Function<Resp, String> print) throws Exception {
    return run(client -> UnaryCalls.call(client, address(), method, request, Duration.ofMinutes(10)), print);
  }

  <T> int run(Function<GrpcClient, Future<T>> request, Function<T, String> print) throws Exception {
    Vertx vertx = Vertx.builder().with(new VertxOptions().setPreferNativeTransport(true)).build();
    // closed last, in finally: Vert.x 5 closes a client that is garbage collected, even mid-call
    // with the message limit a full 1 MiB console tail needs: see MessageLimits
    GrpcClient grpc = GrpcClient.client(vertx, MessageLimits.clientOptions().setScheduleDeadlineAutomatically(true));
    try {
      T answer = request.apply(grpc).await();
      System.out.println(print.apply(answer));
      return 0;
    } catch (GrpcCallException e) {
      // the status by name, as the control plane's CLI prints it: PERMISSION_DENIED, not 7
      System.err.println("node-agent client: the agent answered " + e.status().name() + ": " + e.serverMessage());
      return 1;
    } catch (Exception e) {
      if (e instanceof IllegalArgumentException) {
        System.err.println("node-agent client: " + e.getMessage());
        return 2;
      }
      System.err.println("node-agent client: cannot reach the agent at " + agent + " (" + e.getMessage()
          + "); is `node-agent serve` running and listening there?");
      return 3;
    } finally {
      grpc.close();
      vertx.close();
    }
  }

  SocketAddress address() {
    return Endpoint.parse("--agent", agent).socketAddress();
  }

  static String json(Message m) {
    try {
      return JsonFormat.printer().print(m);
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  @Command(name = "launch", description = "Launch a VM from a spec file (protobuf JSON form of VmSpec).")
  static final class Launch implements Callable<Integer> {
    @ParentCommand
    AgentClientCommand parent;

    @Option(names = "--vm-id", required = true)
    String vmId;

    @Option(names = {"-f", "--file"}, required = true, description = "VmSpec as JSON.")
    Path file;

    @Option(names = "--leader-epoch", defaultValue = "0", description = "The fencing epoch of the control planes'"
        + " leader, which a node that has seen one requires (0: none, for a node no leader has commanded).")
    long leaderEpoch;

    @Override
    public Integer call() throws Exception {
      VmSpec.Builder spec = VmSpec.newBuilder();
      try {
        JsonFormat.parser().merge(Files.readString(file), spec);
      } catch (Exception e) {
        System.err.println("node-agent client: " + file + " is not a VmSpec in JSON: " + e.getMessage());
        return 2;
      }
      LaunchVmRequest req = LaunchVmRequest.newBuilder().setVmId(vmId).setSpec(spec).setLeaderEpoch(leaderEpoch).build();
      return parent.call(NodeAgentServiceGrpcClient.LaunchVm, req, AgentClientCommand::json);
    }
  }

  @Command(name = "stop", description = "Stop a VM: power button, then quit, then SIGKILL.")
  static final class Stop implements Callable<Integer> {
    @ParentCommand
    AgentClientCommand parent;

    @Parameters(index = "0")
    String vmId;

    @Option(names = "--timeout", defaultValue = "0", description = "Seconds the guest gets to power off (0: agent default).")
    int timeout;

    @Option(names = "--force", description = "SIGKILL at once.")
    boolean force;

    @Option(names = "--leader-epoch", defaultValue = "0", description = "The fencing epoch of the control planes'"
        + " leader, which a node that has seen one requires (0: none, for a node no leader has commanded).")
    long leaderEpoch;

    @Override
    public Integer call() throws Exception {
      AgentStopVmRequest req = AgentStopVmRequest.newBuilder().setVmId(vmId).setTimeoutSeconds(timeout).setForce(force)
          .setLeaderEpoch(leaderEpoch).build();
      return parent.call(NodeAgentServiceGrpcClient.StopVm, req, AgentClientCommand::json);
    }
  }

  @Command(name = "delete", description = "Delete a stopped VM and its state.")
  static final class Delete implements Callable<Integer> {
    @ParentCommand
    AgentClientCommand parent;

    @Parameters(index = "0")
    String vmId;

    @Option(names = "--force", description = "Kill it first if it runs.")
    boolean force;

    @Option(names = "--leader-epoch", defaultValue = "0", description = "The fencing epoch of the control planes'"
        + " leader, which a node that has seen one requires (0: none, for a node no leader has commanded).")
    long leaderEpoch;

    @Override
    public Integer call() throws Exception {
      AgentDeleteVmRequest req = AgentDeleteVmRequest.newBuilder().setVmId(vmId).setForce(force)
          .setLeaderEpoch(leaderEpoch).build();
      return parent.call(NodeAgentServiceGrpcClient.DeleteVm, req, r -> "deleted " + vmId);
    }
  }

  @Command(name = "get", description = "Show one VM.")
  static final class Get implements Callable<Integer> {
    @ParentCommand
    AgentClientCommand parent;

    @Parameters(index = "0")
    String vmId;

    @Override
    public Integer call() throws Exception {
      return parent.call(NodeAgentServiceGrpcClient.GetVm, AgentGetVmRequest.newBuilder().setVmId(vmId).build(), AgentClientCommand::json);
    }
  }

  @Command(name = "list", description = "List the VMs of this node.")
  static final class ListVms implements Callable<Integer> {
    @ParentCommand
    AgentClientCommand parent;

    @Override
    public Integer call() throws Exception {
      return parent.call(NodeAgentServiceGrpcClient.ListVms, ListAgentVmsRequest.getDefaultInstance(), AgentClientCommand::json);
    }
  }

  @Command(name = "console", description = "Print the tail of a VM's serial console.")
  static final class Console implements Callable<Integer> {
    @ParentCommand
    AgentClientCommand parent;

    @Parameters(index = "0")
    String vmId;

    @Option(names = "--bytes", defaultValue = "0")
    int bytes;

    @Override
    public Integer call() throws Exception {
      AgentConsoleLogRequest req = AgentConsoleLogRequest.newBuilder().setVmId(vmId).setMaxBytes(bytes).build();
      return parent.call(NodeAgentServiceGrpcClient.GetConsoleLog, req, r -> r.getData().toStringUtf8());
    }
  }

  @Command(name = "info", description = "Show what this node offers.")
  static final class Info implements Callable<Integer> {
    @ParentCommand
    AgentClientCommand parent;

    @Override
    public Integer call() throws Exception {
      return parent.call(NodeAgentServiceGrpcClient.GetNodeInfo, GetNodeInfoRequest.getDefaultInstance(), AgentClientCommand::json);
    }
  }

  @Command(name = "watch", description = "Print lifecycle events as they happen (one JSON object a line) until Ctrl-C.")
  static final class Watch implements Callable<Integer> {
    @ParentCommand
    AgentClientCommand parent;

    @Parameters(index = "0", arity = "0..1", description = "Only this VM's events.")
    String vmId;

    @Override
    public Integer call() throws Exception {
      WatchAgentEventsRequest req = WatchAgentEventsRequest.newBuilder().setVmId(vmId == null ? "" : vmId).build();
      CountDownLatch done = new CountDownLatch(1);
      return parent.run(grpc -> ServerStreams.open(grpc, parent.address(), NodeAgentServiceGrpcClient.WatchEvents, req,
          stream -> {
            stream.handler(e -> System.out.println(jsonLine(e)));
            stream.endHandler(v -> done.countDown());
            stream.exceptionHandler(e -> done.countDown());
          }).compose(stream -> {
        return Future.<Void>future(p -> new Thread(() -> {
          try {
            done.await();
          } catch (InterruptedException ignored) {
            Thread.currentThread().interrupt();
          }
          p.complete();
        }, "watch-wait").start());
      }), v -> "watch ended");
    }

    private static String jsonLine(Message m) {
      try {
        return JsonFormat.printer().omittingInsignificantWhitespace().print(m);
      } catch (Exception e) {
        throw new IllegalStateException(e);
      }
    }
  }
}
