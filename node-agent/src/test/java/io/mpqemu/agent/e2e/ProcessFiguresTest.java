package io.mpqemu.agent.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import io.mpqemu.testing.Await;
import io.mpqemu.v1.AgentVm;
import io.mpqemu.v1.ProcessStatus;
import io.mpqemu.v1.VmSpec;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/** CPU seconds and resident memory of a real VM's QEMU processes, in GetVm, ListVms and /metrics. */
class ProcessFiguresTest {

  /** Two samples apart, and then some: a figure is at most one sample old. */
  private static final Duration FIGURES_WITHIN = Duration.ofSeconds(15);
  private static final long MIB = 1024 * 1024;

  private AgentHarness agent;
  private HttpClient http;
  private URI metrics;

  @BeforeEach
  void start() throws Exception {
    agent = new AgentHarness().startInProcess(c -> c.withHttpListen("tcp:127.0.0.1:0"));
    String address = agent.verticle().httpAddress();
    metrics = URI.create("http://127.0.0.1:" + address.substring(address.lastIndexOf(':') + 1) + "/metrics");
    http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();
  }

  @AfterEach
  void stop() throws Exception {
    agent.close();
  }

  @Test
  @DisplayName("a running VM's every process shows CPU seconds and resident memory in GetVm and ListVms, and three"
      + " series each on /metrics, which go with the VM")
  void figuresOfARunningVm() throws Exception {
    VmSpec spec = VmSpec.newBuilder(Specs.lsi("figures", agent.bootImage("boot.img", "Hello from figures", false)))
        .addDevices(Specs.device("nvme0", "nvme", "data", agent.emptyImage("data.img"))).build();
    agent.launch("vm-fig", spec);
    agent.awaitConsole("vm-fig", "Hello from figures", AgentHarness.BOOT_WITHIN);

    AgentVm vm = Await.atMost(FIGURES_WITHIN).every(Duration.ofMillis(200)).until(() -> agent.get("vm-fig"),
        ProcessFiguresTest::everyProcessHasFigures, v -> "processes without figures: " + v.getProcessesList());
    assertThat(vm.getProcessesList()).extracting(ProcessStatus::getName).containsExactly("lsi0", "nvme0", "main");
    assertThat(vm.getProcessesList()).allSatisfy(p -> assertThat(p.getCgroupMemoryBytes()).as(p.getName() + ": memory charged to its own cgroup").isPositive());
    // the main QEMU holds the guest's RAM; what the guest touched of it counts in its RSS
    assertThat(vm.getProcesses(2).getRssBytes()).isGreaterThan(vm.getProcesses(0).getRssBytes());
    assertThat(agent.list()).singleElement().satisfies(listed -> assertThat(everyProcessHasFigures(listed)).isTrue());

    List<String> series = List.of(
        "{device=\"\",role=\"main\",vm=\"vm-fig\"}",
        "{device=\"lsi0\",role=\"device\",vm=\"vm-fig\"}",
        "{device=\"nvme0\",role=\"device\",vm=\"vm-fig\"}");
    String page = scrape();
    for (String labels : series) {
      assertThat(sample(page, "mpqemu_process_cpu_seconds_total" + labels)).as("CPU of " + labels).isPositive();
      assertThat(sample(page, "mpqemu_process_resident_memory_bytes" + labels)).as("RSS of " + labels).isGreaterThan(MIB);
      assertThat(sample(page, "mpqemu_process_cgroup_memory_bytes" + labels)).as("cgroup of " + labels).isPositive();
    }
    assertThat(page).as("one series per process, no more").containsOnlyOnce("mpqemu_process_cpu_seconds_total{device=\"\"");

    agent.delete("vm-fig", true);

    assertThat(scrape()).as("no series left for the deleted VM").doesNotContain("vm-fig", "mpqemu_process_");
  }

  private static boolean everyProcessHasFigures(AgentVm vm) {
    return vm.getProcessesCount() > 0
        && vm.getProcessesList().stream().allMatch(p -> p.getCpuSeconds() > 0 && p.getRssBytes() > MIB);
  }

  private String scrape() throws Exception {
    HttpResponse<String> response = http.send(HttpRequest.newBuilder(metrics).timeout(Duration.ofSeconds(30)).build(),
        HttpResponse.BodyHandlers.ofString());
    assertThat(response.statusCode()).isEqualTo(200);
    return response.body();
  }

  /** The value of the sample line {@code nameAndLabels}, or null. */
  private static Double sample(String page, String nameAndLabels) {
    return page.lines().filter(l -> l.startsWith(nameAndLabels + " "))
        .map(l -> Double.parseDouble(l.substring(nameAndLabels.length() + 1))).findFirst().orElse(null);
  }
}
