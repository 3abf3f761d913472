package io.mpqemu.agent.qemu;

import static io.mpqemu.agent.qemu.QmpClientTest.waitUntil;
import static org.assertj.core.api.Assertions.assertThat;

import io.mpqemu.agent.unix.DevicePair;
import io.mpqemu.agent.unix.OpenDescriptors;
import io.mpqemu.agent.unix.SocketPairs;
import io.mpqemu.agent.unix.UnixQmpTransport;
import io.mpqemu.testing.Await;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.junit5.VertxExtension;
import java.io.FileInputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

@ExtendWith(VertxExtension.class)
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class QmpClientRealQemuTest {

  private static final Duration TIMEOUT = Duration.ofSeconds(10);

  @TempDir Path dir;
  private RealQemu qemu;

  @BeforeEach
  void setUp() {
    qemu = new RealQemu(dir);
  }

  @AfterEach
  void tearDown() {
    qemu.close();
  }

  private Future<Qmp> connect(Vertx vertx) {
    Path socket = qemu.qmpSocket();
    return QmpClient.connect(vertx, "main", () -> UnixQmpTransport.connect(socket, TIMEOUT), TIMEOUT);
  }

  @Test
  @DisplayName("a QEMU started with -S is in prelaunch, and cont resumes it with a RESUME event")
  void prelaunchThenCont(Vertx vertx) throws Exception {
    qemu.startMain();
    long start = System.nanoTime();
    Qmp qmp = Await.result(connect(vertx));
    System.out.printf("[timing] QMP connect+negotiate (QEMU just started): %d ms%n", millisSince(start));
    List<String> events = new CopyOnWriteArrayList<>();
    qmp.eventHandler(event -> events.add(event.getString("event")));

    JsonObject status = Await.result(qmp.execute("query-status", null, TIMEOUT));
    assertThat(status.getBoolean("running")).isFalse();
    assertThat(status.getString("status")).isEqualTo("prelaunch");

    Await.result(qmp.execute("cont", null, TIMEOUT));
    waitUntil(() -> events.contains("RESUME"));
    assertThat(Await.result(qmp.execute("query-status", null, TIMEOUT)).getString("status"))
        .isEqualTo("running");

    Await.result(qmp.execute("stop", null, TIMEOUT));
    waitUntil(() -> events.contains("STOP"));
    assertThat(events).containsSubsequence("RESUME", "STOP");
    qmp.close();
    Await.result(qmp.closed());
  }

  @Test
  @DisplayName("getfd hands a socketpair end to QEMU, and closefd releases it")
  void getfdAndClosefd(Vertx vertx) throws Exception {
    qemu.startMain();
    Qmp qmp = Await.result(connect(vertx));
    try (DevicePair pair = SocketPairs.open()) {
      Await.result(qmp.getfd("mp0", pair.mainEnd(), TIMEOUT));

      Await.result(qmp.execute("closefd", new JsonObject().put("fdname", "mp0"), TIMEOUT));

      assertThat(Await.failure(qmp.execute("closefd", new JsonObject().put("fdname", "mp0"), TIMEOUT)))
          .isInstanceOfSatisfying(
              QmpException.class, e -> assertThat(e.errorClass()).isEqualTo("GenericError"));
    }
    qmp.close();
  }

  @Test
  @DisplayName("getfd commands sent back to back keep each descriptor under its own name")
  void concurrentGetfd(Vertx vertx) throws Exception {
    Process main = qemu.startMain();
    Qmp qmp = Await.result(connect(vertx));
    int count = 4;
    List<Path> files = new ArrayList<>();
    List<FileInputStream> streams = new ArrayList<>();
    try {
      for (int i = 0; i < count; i++) {
        Path file = Files.writeString(dir.resolve("fd-" + i), "fd " + i);
        files.add(file);
        streams.add(new FileInputStream(file.toFile()));
      }
      for (int survivor = 0; survivor < count; survivor++) {
        List<Future<Void>> handed = new ArrayList<>();
        for (int i = 0; i < count; i++) {
          handed.add(qmp.getfd("f" + i, streams.get(i).getFD(), TIMEOUT));
        }
        Await.result(Future.all(handed));
        for (int i = 0; i < count; i++) {
          if (i != survivor) {
            Await.result(qmp.execute("closefd", new JsonObject().put("fdname", "f" + i), TIMEOUT));
          }
        }

        assertThat(openFiles(main.pid())).filteredOn(files::contains).containsExactly(files.get(survivor));
        Await.result(qmp.execute("closefd", new JsonObject().put("fdname", "f" + survivor), TIMEOUT));
        assertThat(openFiles(main.pid())).doesNotContainAnyElementsOf(files);
      }
    } finally {
      for (FileInputStream stream : streams) {
        stream.close();
      }
    }
    qmp.close();
  }

  private static List<Path> openFiles(long pid) throws IOException {
    try (Stream<Path> fds = Files.list(Path.of("/proc/" + pid + "/fd"))) {
      return fds.map(QmpClientRealQemuTest::target).toList();
    }
  }

  private static Path target(Path link) {
    try {
      return Files.readSymbolicLink(link);
    } catch (IOException e) {
      return link;
    }
  }

  @Test
  @DisplayName("an unknown command fails with QmpException of class CommandNotFound")
  void unknownCommand(Vertx vertx) throws Exception {
    qemu.startMain();
    Qmp qmp = Await.result(connect(vertx));

    assertThat(Await.failure(qmp.execute("no-such-command", null, TIMEOUT)))
        .isInstanceOfSatisfying(
            QmpException.class,
            e -> {
              assertThat(e.errorClass()).isEqualTo("CommandNotFound");
              assertThat(e.description()).contains("no-such-command");
            });
    assertThat(Await.result(qmp.execute("query-status", null, TIMEOUT)).getString("status"))
        .isEqualTo("prelaunch");
    qmp.close();
  }

  @Test
  @DisplayName("quit ends the connection: closed() completes and QEMU exits with status 0")
  void quit(Vertx vertx) throws Exception {
    Process main = qemu.startMain();
    Qmp qmp = Await.result(connect(vertx));

    Future<JsonObject> quit = qmp.execute("quit", null, TIMEOUT);

    Await.result(qmp.closed());
    assertThat(quit.isComplete()).isTrue();
    assertThat(main.waitFor(10, TimeUnit.SECONDS)).isTrue();
    assertThat(main.exitValue()).isZero();
  }

  @Test
  @DisplayName("20 connect and close cycles leave no descriptor and no thread behind")
  void noLeaks(Vertx vertx) throws Exception {
    qemu.startMain();
    for (int i = 0; i < 3; i++) {
      cycle(vertx);
    }
    long descriptors = OpenDescriptors.count();
    var described = OpenDescriptors.describe();
    long threads = threadsOutsideTheWorkerPool();

    long start = System.nanoTime();
    for (int i = 0; i < 20; i++) {
      cycle(vertx);
    }
    System.out.printf(
        "[timing] 20 QMP connect+negotiate+query-status+close cycles: %d ms%n", millisSince(start));

    var after = new java.util.TreeSet<>(OpenDescriptors.describe());
    after.removeAll(described);
    assertThat(OpenDescriptors.count()).as("new descriptors: %s", after).isLessThanOrEqualTo(descriptors);
    assertThat(Thread.getAllStackTraces().keySet())
        .noneMatch(t -> t.getName().startsWith("qmp-"));
    assertThat(threadsOutsideTheWorkerPool()).isLessThanOrEqualTo(threads);
  }

  /** Vert.x's worker pool grows to its fixed size as it is used; any other thread is counted. */
  private static long threadsOutsideTheWorkerPool() {
    return Thread.getAllStackTraces().keySet().stream()
        .filter(t -> !t.getName().startsWith("vert.x-worker-thread-"))
        .count();
  }

  private void cycle(Vertx vertx) throws Exception {
    Qmp qmp = Await.result(connect(vertx));
    assertThat(Await.result(qmp.execute("query-status", null, TIMEOUT)).getString("status"))
        .isEqualTo("prelaunch");
    qmp.close();
    Await.result(qmp.closed());
  }

  @Test
  @DisplayName(
      "a device process on a socketpair is proxied into the main QEMU with getfd and device_add")
  void multiProcess(Vertx vertx) throws Exception {
    DevicePair pair = SocketPairs.open();
    try {
      Process remote =
          qemu.start(
              "dev-lsi0",
              pair.remoteEndAsStdin(),
              List.of(
                  RealQemu.BINARY, "-machine", "x-remote", "-nodefaults", "-display", "none",
                  "-device", "{\"driver\":\"lsi53c895a\",\"id\":\"lsi0\"}",
                  "-object",
                  "{\"qom-type\":\"x-remote-object\",\"id\":\"robj0\",\"devid\":\"lsi0\",\"fd\":\"0\"}"));
      Process main =
          qemu.start(
              "main",
              null,
              qemu.mainArguments(
                  "pc,memory-backend=mem",
                  "-m", "64M",
                  "-object",
                  "{\"qom-type\":\"memory-backend-memfd\",\"id\":\"mem\",\"size\":67108864,"
                      + "\"share\":true}"));

      long start = System.nanoTime();
      Qmp qmp = Await.result(connect(vertx));
      System.out.printf("[timing] QMP connect+negotiate (QEMU just started): %d ms%n", millisSince(start));

      start = System.nanoTime();
      Await.result(qmp.getfd("mp0", pair.mainEnd(), TIMEOUT));
      Await.result(
          qmp.execute(
              "device_add",
              new JsonObject().put("driver", "x-pci-proxy-dev").put("id", "lsi0").put("fd", "mp0"),
              TIMEOUT));
      Await.result(qmp.execute("cont", null, TIMEOUT));
      System.out.printf("[timing] getfd+device_add+cont: %d ms%n", millisSince(start));

      Thread.sleep(500);
      assertThat(remote.isAlive()).as("device process alive; log: %s", qemu.logText("dev-lsi0")).isTrue();
      assertThat(main.isAlive()).as("main QEMU alive; log: %s", qemu.logText("main")).isTrue();
      assertThat(Await.result(qmp.execute("query-status", null, TIMEOUT)).getString("status"))
          .isEqualTo("running");
      assertThat(qdevIds(Await.result(qmp.execute("query-pci", null, TIMEOUT)))).contains("lsi0");

      Await.result(qmp.execute("quit", null, TIMEOUT).otherwiseEmpty());
      Await.result(qmp.closed());
      assertThat(main.waitFor(10, TimeUnit.SECONDS)).isTrue();
      assertThat(remote.waitFor(500, TimeUnit.MILLISECONDS))
          .as("the device process runs on while the agent holds the pair")
          .isFalse();

      pair.close();

      assertThat(remote.waitFor(10, TimeUnit.SECONDS))
          .as("the device process exits once the pair is closed")
          .isTrue();
      assertThat(remote.exitValue()).as("log: %s", qemu.logText("dev-lsi0")).isZero();
    } finally {
      pair.close();
    }
  }

  private static List<String> qdevIds(JsonObject queryPci) {
    JsonArray buses = queryPci.getJsonArray("return");
    return buses.stream()
        .map(JsonObject.class::cast)
        .flatMap(bus -> bus.getJsonArray("devices").stream())
        .map(JsonObject.class::cast)
        .map(device -> device.getString("qdev_id", ""))
        .toList();
  }

  private static long millisSince(long nanoStart) {
    return TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - nanoStart);
  }
}
