package io.mpqemu.controlplane.reconcile;

import static org.assertj.core.api.Assertions.assertThat;

import io.mpqemu.controlplane.store.StoredNode;
import io.mpqemu.controlplane.store.StoredVm;
import io.mpqemu.v1.AgentVm;
import io.mpqemu.v1.Phase;
import io.vertx.core.Future;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

/**
 * The agents port as nodes that do what they are told at once: each node keeps the VMs it was told to
 * run, answers launches RUNNING (unless the test sets another answer), and records every command as a
 * line ({@code launch node-a web}) for {@link #assertCommands}.
 */
public final class RecordingAgents implements Agents {

  private final List<String> commands = new ArrayList<>();
  private final Map<String, Map<String, AgentVm>> running = new HashMap<>();
  /** How a node answers a launch; by default it runs the VM. */
  public Function<StoredVm, Future<AgentVm>> launchAnswer = vm -> Future.succeededFuture(view(vm.id(), vm, Phase.PHASE_RUNNING));

  @Override
  public Future<AgentVm> launch(StoredNode node, StoredVm vm) {
    commands.add("launch " + node.id() + " " + vm.name());
    return launchAnswer.apply(vm).onSuccess(v -> vms(node.id()).put(vm.id(), v));
  }

  @Override
  public Future<AgentVm> stop(StoredNode node, String vmId, int timeoutSeconds, boolean force) {
    AgentVm vm = vms(node.id()).get(vmId);
    commands.add("stop " + node.id() + " " + (vm == null ? vmId : vm.getSpec().getName()));
    if (vm == null) {
      return Future.failedFuture(new io.mpqemu.grpc.GrpcCallException(io.vertx.grpc.common.GrpcStatus.NOT_FOUND, "no VM " + vmId));
    }
    AgentVm stopped = vm.toBuilder().setPhase(Phase.PHASE_STOPPED).clearProcesses().build();
    vms(node.id()).put(vmId, stopped);
    return Future.succeededFuture(stopped);
  }

  @Override
  public Future<Void> delete(StoredNode node, String vmId) {
    AgentVm vm = vms(node.id()).remove(vmId);
    commands.add("delete " + node.id() + " " + (vm == null ? vmId : vm.getSpec().getName()));
    return Future.succeededFuture();
  }

  @Override
  public Future<List<AgentVm>> list(StoredNode node) {
    commands.add("list " + node.id());
    return Future.succeededFuture(List.copyOf(vms(node.id()).values()));
  }

  /** Puts a VM on a node as if it had been launched there (or by someone else). */
  public void runs(String node, AgentVm vm) {
    vms(node).put(vm.getVmId(), vm);
  }

  /** Takes a VM off a node as if it had vanished (a host reboot). */
  public void forgets(String node, String vmId) {
    vms(node).remove(vmId);
  }

  Map<String, AgentVm> on(String node) {
    return Map.copyOf(vms(node));
  }

  /** The commands since the last call, then forgets them; {@code list} commands left out unless {@code withLists}. */
  public List<String> takeCommands(boolean withLists) {
    List<String> taken = commands.stream().filter(c -> withLists || !c.startsWith("list ")).toList();
    commands.clear();
    return taken;
  }

  public void assertCommands(String... expected) {
    assertThat(takeCommands(false)).as("commands to agents (lists left out)").containsExactly(expected);
  }

  public static AgentVm view(String id, StoredVm vm, Phase phase) {
    return AgentVm.newBuilder().setVmId(id).setSpec(vm.spec()).setPhase(phase).setReason("Launched").build();
  }

  private Map<String, AgentVm> vms(String node) {
    return running.computeIfAbsent(node, n -> new LinkedHashMap<>());
  }
}
