package io.mpqemu.dist.access;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import io.mpqemu.access.AccessSettings;
import io.mpqemu.controlplane.ControlPlaneConfig;
import io.mpqemu.controlplane.ControlPlaneVerticle;
import io.mpqemu.controlplane.vm.Quota;
import io.mpqemu.spec.NodeLimits;
import io.mpqemu.testing.Await;
import io.mpqemu.testing.LocalUsers;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.slf4j.LoggerFactory;

/**
 * Local access by identity, as users meet it: real UNIX users and groups, the real CLI run as each of
 * them (setpriv) against a control plane's UNIX socket. Root and the service's user are operators;
 * members of the operator group are too; members of the viewer group may read; anyone else is refused,
 * and the refusal is logged with the uid.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class LocalAccessTest {

  private final LocalUsers accounts = new LocalUsers();
  private final ListAppender<ILoggingEvent> refusals = new ListAppender<>();
  private Path dir;
  private String classpath;
  private Vertx vertx;
  private String operator;
  private String viewer;
  private String stranger;
  private Path spec;

  @BeforeAll
  void start() throws Exception {
    String ops = accounts.group("ops");
    String view = accounts.group("view");
    operator = accounts.user("op", ops);
    viewer = accounts.user("viewer", view);
    stranger = accounts.user("other");
    dir = Files.createTempDirectory(Path.of("/tmp"), "mpqemu-access-");
    Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x")); // others reach the socket
    classpath = LocalUsers.readableClasspath(dir.resolve("cp"));
    spec = dir.resolve("vm.json");
    Files.writeString(spec, Files.readString(Path.of("../deploy/examples/lsi-vm.json")).replace("\"demo\"", "\"NAME\""));
    Files.setPosixFilePermissions(spec, PosixFilePermissions.fromString("rw-r--r--"));

    Logger refused = (Logger) LoggerFactory.getLogger("io.mpqemu.access.Refused");
    refusals.start();
    refused.addAppender(refusals);

    vertx = Vertx.builder().with(new VertxOptions().setPreferNativeTransport(true)).build();
    ControlPlaneConfig config = new ControlPlaneConfig(dir.resolve("data"), List.of("unix:" + dir.resolve("api.sock")),
        Duration.ofSeconds(10), Duration.ofSeconds(30), Duration.ofSeconds(10), Duration.ofSeconds(30),
        Duration.ofSeconds(60), NodeLimits.defaults())
        .withAccess(AccessSettings.defaults().withGroups(List.of(ops), List.of(view)))
        .withQuota(new Quota(1, 0));
    Await.result(vertx.deployVerticle(new ControlPlaneVerticle(config)));
  }

  @AfterAll
  void stop() throws Exception {
    ((Logger) LoggerFactory.getLogger("io.mpqemu.access.Refused")).detachAppender(refusals);
    if (vertx != null) {
      Await.result(vertx.close());
    }
    accounts.close();
    if (dir != null) {
      try (Stream<Path> all = Files.walk(dir)) {
        all.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
      }
    }
  }

  /** The CLI's exit code and what it printed (stdout and stderr). */
  private record Run(int exit, String output) {}

  private Run cli(String user, String... args) throws Exception {
    List<String> command = new ArrayList<>(List.of("java", "-XX:-UsePerfData", "-cp", classpath, "io.mpqemu.dist.ControlPlaneJar",
        "--server", "unix:" + dir.resolve("api.sock")));
    command.addAll(List.of(args));
    Process p = new ProcessBuilder(user == null ? command : LocalUsers.as(user, command)).redirectErrorStream(true)
        .start();
    String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(p.waitFor(60, TimeUnit.SECONDS)).as("the CLI finished").isTrue();
    return new Run(p.exitValue(), output);
  }

  private Path specNamed(String name) throws IOException {
    Path file = dir.resolve(name + ".json");
    Files.writeString(file, Files.readString(spec).replace("NAME", name));
    Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-r--r--"));
    return file;
  }

  @Test
  @DisplayName("a user in neither group is refused with PERMISSION_DENIED, and the refusal is logged with its uid")
  void strangerRefused() throws Exception {
    Run list = cli(stranger, "vm", "list");
    assertThat(list.exit()).as(list.output()).isEqualTo(1);
    assertThat(list.output()).contains("PERMISSION_DENIED").contains("ListVms needs the viewer role")
        .contains("uid " + LocalUsers.uid(stranger));
    String uid = "uid " + LocalUsers.uid(stranger);
    assertThat(refusals.list).anySatisfy(e -> assertThat(e.getFormattedMessage()).contains(uid)
        .contains("ListVms"));
  }

  @Test
  @DisplayName("a viewer lists VMs but may not create one; the refusal names the operator role")
  void viewerReads() throws Exception {
    Run list = cli(viewer, "vm", "list");
    assertThat(list.exit()).as(list.output()).isZero();
    Run create = cli(viewer, "vm", "create", "--stopped", "-f", specNamed("viewer-vm").toString());
    assertThat(create.exit()).as(create.output()).isEqualTo(1);
    assertThat(create.output()).contains("PERMISSION_DENIED").contains("CreateVm needs the operator role")
        .contains("has the viewer role");
    assertThat(cli(null, "vm", "list").output()).doesNotContain("viewer-vm");
  }

  @Test
  @DisplayName("an operator creates and lists; the VM is theirs, and their second VM passes the quota of one")
  void operatorWritesWithinQuota() throws Exception {
    Run create = cli(operator, "vm", "create", "--stopped", "-f", specNamed("op-vm").toString());
    assertThat(create.exit()).as(create.output()).isZero();
    Run get = cli(operator, "-o", "json", "vm", "get", "op-vm");
    assertThat(get.exit()).as(get.output()).isZero();
    assertThat(get.output()).contains("\"owner\": \"unix:" + operator + "\"");
    Run shown = cli(viewer, "vm", "get", "op-vm");
    assertThat(shown.exit()).as(shown.output()).isZero();
    assertThat(shown.output()).containsPattern("OWNER +unix:" + operator);
    Run second = cli(operator, "vm", "create", "--stopped", "-f", specNamed("op-vm-2").toString());
    assertThat(second.exit()).as(second.output()).isEqualTo(1);
    assertThat(second.output()).contains("RESOURCE_EXHAUSTED").contains("quota").contains("unix:" + operator);
    // root is another identity, with a quota of its own
    Run root = cli(null, "vm", "create", "--stopped", "-f", specNamed("root-vm").toString());
    assertThat(root.exit()).as(root.output()).isZero();
  }
}
