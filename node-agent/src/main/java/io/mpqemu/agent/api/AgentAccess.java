package io.mpqemu.agent.api;

import io.mpqemu.access.Access;
import io.mpqemu.fleet.Role;
import io.mpqemu.v1.NodeAgentServiceGrpcService;
import io.vertx.grpc.common.ServiceMethod;
import java.util.Map;

/** Who may call which method of mpqemu.v1.NodeAgentService. */
public final class AgentAccess {

  /** What each method needs; the rest (LaunchVm, StopVm, DeleteVm, ImportImage, DeleteImage) need operator. */
  public static final Map<String, Access> METHODS = Map.of(
      path(NodeAgentServiceGrpcService.GetVm), Access.VIEWER,
      path(NodeAgentServiceGrpcService.ListVms), Access.VIEWER,
      path(NodeAgentServiceGrpcService.WatchEvents), Access.VIEWER,
      path(NodeAgentServiceGrpcService.GetConsoleLog), Access.VIEWER,
      // a writer needs operator: checked when the stream opens (ConsoleStreams)
      path(NodeAgentServiceGrpcService.AttachConsole), Access.VIEWER,
      path(NodeAgentServiceGrpcService.GetNodeInfo), Access.VIEWER,
      path(NodeAgentServiceGrpcService.ListImages), Access.VIEWER);

  /** Over TLS only control planes call an agent, as operators. */
  public static final Map<Role, Access> CERTIFICATE_ROLES = Map.of(Role.CONTROL_PLANE, Access.OPERATOR);

  private AgentAccess() {}

  private static String path(ServiceMethod<?, ?> method) {
    return "/" + method.serviceName().fullyQualifiedName() + "/" + method.methodName();
  }
}
