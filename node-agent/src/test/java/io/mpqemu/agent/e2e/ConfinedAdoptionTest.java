package io.mpqemu.agent.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import io.mpqemu.agent.process.ProcessTable;
import io.mpqemu.testing.ServiceJvm;
import io.mpqemu.v1.AgentVm;
import io.mpqemu.v1.Phase;
import io.mpqemu.v1.ProcessStatus;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/**
 * A restarted agent re-adopts confined VMs under the same uids, and trusts nothing in a vm.json it
 * cannot verify: a forged record makes it kill or delete nothing it should not.
 */
class ConfinedAdoptionTest {

  private AgentHarness h;
  private Process unrelated;

  @BeforeEach
  void setUp() throws Exception {
    h = new AgentHarness();
  }

  @AfterEach
  void tearDown() throws Exception {
    if (unrelated != null) {
      unrelated.destroyForcibly();
    }
    h.close();
  }

  @Test
  @DisplayName("after kill -9 of the agent, the next adopts confined VMs with the same uids; forged records (id ../.., an unrelated pid, another VM's pid) kill and delete nothing")
  void adoptsAndTrustsNothingForged() throws Exception {
    String imageA = h.bootImage("a.img", "adopted confined", false);
    String imageB = h.bootImage("b.img", "adopted confined", false);
    AgentVm a;
    AgentVm b;
    try (ServiceJvm first = h.startJvm()) {
      a = h.launch("vm-a", Specs.lsi("a", imageA));
      b = h.launch("vm-b", Specs.lsi("b", imageB));
      first.kill9();
    }
    unrelated = new ProcessBuilder("sleep", "600").start();
    long sleepPid = unrelated.pid();
    JsonObject recordB = new JsonObject(Files.readString(h.vmDir("vm-b").resolve("vm.json")));

    // a record whose id climbs out of the state directory
    Path climbing = Files.createDirectories(h.vmDir("forged-climb"));
    Files.writeString(climbing.resolve("vm.json"), recordB.copy().put("vmId", "../..").encode());
    // a record naming an unrelated process and vm-b's main QEMU, under uids of its own in the range
    JsonObject forged = recordB.copy().put("vmId", "forged-pids");
    long free = h.uidRange().first() + 1000;
    forged.put("uids", new JsonObject().put("first", free).put("size", 17));
    JsonArray procs = new JsonArray();
    ProcessStatus bMain = main(b);
    procs.add(new JsonObject().put("name", "main").put("pid", bMain.getPid())
        .put("startedAt", recordB.getJsonArray("processes").getJsonObject(1).getString("startedAt")).put("uid", free));
    procs.add(new JsonObject().put("name", "lsi0").put("pid", sleepPid)
        .put("startedAt", unrelated.info().startInstant().orElseThrow().toString()).put("uid", free + 1));
    forged.put("processes", procs);
    Path forgedDir = Files.createDirectories(h.vmDir("forged-pids"));
    Files.writeString(forgedDir.resolve("vm.json"), forged.encode());

    try (ServiceJvm second = h.startJvm()) {
      for (AgentVm before : List.of(a, b)) {
        AgentVm after = h.get(before.getVmId());
        assertThat(after.getPhase()).as(before.getVmId()).isEqualTo(Phase.PHASE_RUNNING);
        assertThat(uidsByName(after)).as(before.getVmId() + " keeps its uids").isEqualTo(uidsByName(before));
        assertThat(after.getProcessesList()).extracting(ProcessStatus::getPid)
            .containsExactlyInAnyOrderElementsOf(before.getProcessesList().stream().map(ProcessStatus::getPid).toList());
      }
      h.awaitConsole("vm-a", "adopted confined", AgentHarness.BOOT_WITHIN);
      assertThat(ProcessTable.isRunning(sleepPid)).as("the unrelated process a forged record names").isTrue();
      assertThat(b.getProcessesList()).as("vm-b's processes, one of which a forged record names")
          .allMatch(p -> ProcessTable.isRunning(p.getPid()));
      assertThat(climbing.resolve("vm.json")).as("the record with id ../.. is left as it is").exists();
      assertThat(h.stateDir).exists();
      assertThat(second.log()).contains("names VM id '../..'");
      AgentVm forgedVm = h.get("forged-pids");
      assertThat(forgedVm.getProcessesList()).as("nothing of the forged record was adopted").isEmpty();
    }
  }

  private static ProcessStatus main(AgentVm vm) {
    return vm.getProcessesList().stream().filter(p -> p.getName().equals("main")).findFirst().orElseThrow();
  }

  private static Map<String, Integer> uidsByName(AgentVm vm) {
    return vm.getProcessesList().stream().collect(Collectors.toMap(ProcessStatus::getName, ProcessStatus::getUid));
  }
}
