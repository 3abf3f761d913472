package io.mpqemu.agent.stats;

import static org.assertj.core.api.Assertions.assertThat;

import io.mpqemu.testing.Await;
import io.mpqemu.v1.AgentVm;
import io.mpqemu.v1.ProcessRole;
import io.mpqemu.v1.ProcessState;
import io.mpqemu.v1.ProcessStatus;
import io.vertx.core.Vertx;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/** The sampler's cache against a fake reader: which processes get figures, and when they lose them. */
class ProcessSamplerTest {

  private final Vertx vertx = Vertx.vertx();
  private final AtomicReference<List<AgentVm>> vms = new AtomicReference<>(List.of());
  private final Map<Long, ProcessFigures> host = Map.of(
      10L, new ProcessFigures(1.5, 100 << 20, 0),
      11L, new ProcessFigures(0.25, 20 << 20, 0),
      12L, new ProcessFigures(9, 1 << 20, 0));
  private final ProcessSampler sampler = new ProcessSampler(vertx.getOrCreateContext(), vms::get, pid -> Optional.ofNullable(host.get(pid)));

  @AfterEach
  void close() {
    Await.result(vertx.close());
  }

  @Test
  @DisplayName("running processes get their sample's figures; an exited one, and one whose pid is gone, keep 0")
  void fillsRunningProcesses() {
    vms.set(List.of(vm("vm-a", main(10), device("lsi0", 11)), vm("vm-b", main(13))));
    Await.result(sampler.sample());

    AgentVm a = sampler.withFigures(vms.get().get(0));
    assertThat(a.getProcesses(0).getCpuSeconds()).isEqualTo(1.5);
    assertThat(a.getProcesses(0).getRssBytes()).isEqualTo(100 << 20);
    assertThat(a.getProcesses(1).getCpuSeconds()).isEqualTo(0.25);
    AgentVm b = sampler.withFigures(vms.get().get(1));
    assertThat(b).as("pid 13 has no figures: the VM comes back as it was").isSameAs(vms.get().get(1));

    AgentVm aExited = vm("vm-a", main(10), device("lsi0", 11).toBuilder().setState(ProcessState.PROCESS_STATE_EXITED).build());
    assertThat(sampler.withFigures(aExited).getProcesses(1).getCpuSeconds()).as("exited since the sample").isZero();
  }

  @Test
  @DisplayName("a figure belongs to its VM, process name and pid: another VM's process with that pid does not get it")
  void keyedByVmNameAndPid() {
    vms.set(List.of(vm("vm-a", main(10))));
    Await.result(sampler.sample());

    assertThat(sampler.withFigures(vm("vm-c", main(10))).getProcesses(0).getCpuSeconds()).isZero();
    assertThat(sampler.withFigures(vm("vm-a", device("main2", 10))).getProcesses(0).getCpuSeconds()).isZero();
  }

  @Test
  @DisplayName("running() lists what the VMs show running now: a deleted VM's processes drop out before the next sample")
  void runningFollowsTheVmsNow() {
    vms.set(List.of(vm("vm-a", main(10), device("lsi0", 11)), vm("vm-b", main(12))));
    Await.result(sampler.sample());

    assertThat(sampler.running(vms.get())).extracting(s -> s.vmId() + "/" + s.process().getName() + "/" + s.figures().cpuSeconds())
        .containsExactly("vm-a/main/1.5", "vm-a/lsi0/0.25", "vm-b/main/9.0");
    assertThat(sampler.running(List.of(vms.get().get(1)))).extracting(ProcessSampler.Sample::vmId).containsExactly("vm-b");

    vms.set(List.of());
    Await.result(sampler.sample());
    assertThat(sampler.running(List.of(vm("vm-b", main(12))))).as("no VM ran at the last sample").isEmpty();
  }

  private static AgentVm vm(String id, ProcessStatus... processes) {
    return AgentVm.newBuilder().setVmId(id).addAllProcesses(List.of(processes)).build();
  }

  private static ProcessStatus main(long pid) {
    return ProcessStatus.newBuilder().setName("main").setRole(ProcessRole.PROCESS_ROLE_MAIN).setPid(pid)
        .setState(ProcessState.PROCESS_STATE_RUNNING).build();
  }

  private static ProcessStatus device(String id, long pid) {
    return ProcessStatus.newBuilder().setName(id).setRole(ProcessRole.PROCESS_ROLE_DEVICE).setPid(pid)
        .setState(ProcessState.PROCESS_STATE_RUNNING).build();
  }
}
