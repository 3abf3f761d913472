package io.mpqemu.agent.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import io.mpqemu.testing.LocalUsers;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * The agent's UNIX socket judges its callers as the control plane's does: real users run the real
 * {@code node-agent client} against a real agent. A viewer lists and reads node info but may not stop
 * a VM; a user in no group may do nothing.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class AgentAccessTest {

  private final LocalUsers accounts = new LocalUsers();
  private AgentHarness agent;
  private Path open;
  private String classpath;
  private String viewer;
  private String stranger;

  @BeforeAll
  void start() throws Exception {
    String view = accounts.group("aview");
    viewer = accounts.user("aviewer", view);
    stranger = accounts.user("aother");
    agent = new AgentHarness();
    // a socket where other users can reach it (the harness's own directory is private)
    open = agent.root.resolve("open");
    Files.createDirectories(open);
    Files.setPosixFilePermissions(agent.root, PosixFilePermissions.fromString("rwx--x--x"));
    Files.setPosixFilePermissions(open, PosixFilePermissions.fromString("rwxr-xr-x"));
    classpath = LocalUsers.readableClasspath(open.resolve("cp"));
    agent.startInProcess(c -> c.merge(new JsonObject()
        .put("listen", new JsonArray().add("unix:" + agent.socket).add("unix:" + open.resolve("agent.sock")))
        .put("viewerGroups", new JsonArray().add(view))));
  }

  @AfterAll
  void stop() throws Exception {
    if (agent != null) {
      agent.close();
    }
    accounts.close();
  }

  private record Run(int exit, String output) {}

  private Run client(String user, String... args) throws Exception {
    List<String> command = new ArrayList<>(List.of("java", "-XX:-UsePerfData", "-cp", classpath, "io.mpqemu.agent.NodeAgentMain", "client",
        "--agent", "unix:" + open.resolve("agent.sock")));
    command.addAll(List.of(args));
    Process p = new ProcessBuilder(LocalUsers.as(user, command)).redirectErrorStream(true).start();
    String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
    return new Run(p.exitValue(), output);
  }

  @Test
  @DisplayName("a viewer lists VMs and reads node info, but may not stop a VM; the refusal names the operator role")
  void viewer() throws Exception {
    Run list = client(viewer, "list");
    assertThat(list.exit()).as(list.output()).isZero();
    Run info = client(viewer, "info");
    assertThat(info.exit()).as(info.output()).isZero();
    assertThat(info.output()).contains("test-node");
    Run stop = client(viewer, "stop", "web-1");
    assertThat(stop.exit()).as(stop.output()).isEqualTo(1);
    assertThat(stop.output()).contains("PERMISSION_DENIED").contains("StopVm needs the operator role")
        .contains("has the viewer role");
  }

  @Test
  @DisplayName("a user in no group is refused with PERMISSION_DENIED naming its uid")
  void stranger() throws Exception {
    Run list = client(stranger, "list");
    assertThat(list.exit()).as(list.output()).isEqualTo(1);
    assertThat(list.output()).contains("PERMISSION_DENIED").contains("ListVms needs the viewer role")
        .contains("uid " + LocalUsers.uid(stranger));
  }
}
