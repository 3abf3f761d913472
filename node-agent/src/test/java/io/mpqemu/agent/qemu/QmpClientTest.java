package io.mpqemu.agent.qemu;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.tuple;

import io.mpqemu.agent.qemu.FakeQmpTransport.Sent;
import io.mpqemu.testing.Await;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.junit5.VertxExtension;
import io.vertx.junit5.VertxTestContext;
import java.io.FileDescriptor;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeoutException;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

@ExtendWith(VertxExtension.class)
class QmpClientTest {

  private static final Duration TIMEOUT = Duration.ofSeconds(5);

  @Test
  @DisplayName("connecting reads the greeting and negotiates capabilities before anything else")
  void negotiates(Vertx vertx) throws Exception {
    FakeQmpTransport qemu = new FakeQmpTransport();

    Qmp qmp = Await.result(QmpClient.connect(vertx, "vm1", () -> qemu, TIMEOUT));

    qemu.assertCommands("qmp_capabilities");
    qmp.close();
  }

  @Test
  @DisplayName("replies are matched to commands by id, whatever their order and the events between")
  void matchesRepliesById(Vertx vertx) throws Exception {
    FakeQmpTransport qemu = new FakeQmpTransport();
    Qmp qmp = Await.result(QmpClient.connect(vertx, "vm1", () -> qemu, TIMEOUT));

    Future<JsonObject> first = qmp.execute("query-status", null, TIMEOUT);
    Future<JsonObject> second =
        qmp.execute("qom-get", new JsonObject().put("path", "/machine").put("property", "type"), TIMEOUT);
    Sent firstSent = qemu.nextSent();
    Sent secondSent = qemu.nextSent();
    qemu.emit(FakeQmpTransport.returnTo(secondSent, new JsonObject().put("answer", "second")));
    qemu.emitEvent("STOP", new JsonObject());
    qemu.emit(FakeQmpTransport.returnTo(firstSent, new JsonObject().put("answer", "first")));

    assertThat(Await.result(first).getString("answer")).isEqualTo("first");
    assertThat(Await.result(second).getString("answer")).isEqualTo("second");
    assertThat(firstSent.id()).isNotEqualTo(secondSent.id());
    assertThat(secondSent.message().getJsonObject("arguments").getString("path")).isEqualTo("/machine");
    assertThat(firstSent.message().containsKey("arguments")).isFalse();
    qmp.close();
  }

  @Test
  @DisplayName("a return value that is not an object is wrapped as {\"return\": value}")
  void wrapsNonObjectReturns(Vertx vertx) throws Exception {
    FakeQmpTransport qemu =
        new FakeQmpTransport().answerWithReturn("query-pci", new JsonArray().add(new JsonObject().put("bus", 0)));
    Qmp qmp = Await.result(QmpClient.connect(vertx, "vm1", () -> qemu, TIMEOUT));

    JsonObject pci = Await.result(qmp.execute("query-pci", null, TIMEOUT));

    assertThat(pci.getJsonArray("return")).hasSize(1);
    qmp.close();
  }

  @Test
  @DisplayName("a QMP error fails the command with QmpException carrying the class and description")
  void errorReply(Vertx vertx) throws Exception {
    FakeQmpTransport qemu =
        new FakeQmpTransport()
            .answerWithError("device_add", "GenericError", "Duplicate device ID 'lsi0'");
    Qmp qmp = Await.result(QmpClient.connect(vertx, "vm1", () -> qemu, TIMEOUT));

    Future<JsonObject> added = qmp.execute("device_add", new JsonObject().put("id", "lsi0"), TIMEOUT);

    assertThat(Await.failure(added))
        .isInstanceOfSatisfying(
            QmpException.class,
            e -> {
              assertThat(e.errorClass()).isEqualTo("GenericError");
              assertThat(e.description()).isEqualTo("Duplicate device ID 'lsi0'");
              assertThat(e).hasMessageContaining("device_add");
            });
    qmp.close();
  }

  @Test
  @DisplayName("a command without a reply fails with a timeout, and its late reply is ignored")
  void timeout(Vertx vertx) throws Exception {
    FakeQmpTransport qemu = new FakeQmpTransport();
    Qmp qmp = Await.result(QmpClient.connect(vertx, "vm1", () -> qemu, TIMEOUT));

    Future<JsonObject> status = qmp.execute("query-status", null, Duration.ofMillis(100));

    assertThat(Await.failure(status))
        .isInstanceOf(TimeoutException.class)
        .hasMessageContaining("query-status");
    qemu.emit(FakeQmpTransport.returnTo(qemu.nextSent(), new JsonObject()));
    Future<JsonObject> later = qmp.execute("query-name", null, TIMEOUT);
    qemu.emit(FakeQmpTransport.returnTo(qemu.nextSent(), new JsonObject().put("name", "vm1")));
    assertThat(Await.result(later).getString("name")).isEqualTo("vm1");
    qmp.close();
  }

  @Test
  @DisplayName("when QEMU closes the connection, pending commands fail and closed() completes")
  void endOfStreamFailsPending(Vertx vertx) throws Exception {
    FakeQmpTransport qemu = new FakeQmpTransport();
    Qmp qmp = Await.result(QmpClient.connect(vertx, "vm1", () -> qemu, TIMEOUT));
    Future<JsonObject> status = qmp.execute("query-status", null, TIMEOUT);
    qemu.nextSent();

    qemu.endOfStream();

    assertThat(Await.failure(status))
        .isInstanceOf(IOException.class)
        .hasMessageContaining("closed before the reply to query-status");
    Await.result(qmp.closed());
    assertThat(qemu.isClosed()).isTrue();
    assertThat(Await.failure(qmp.execute("query-status", null, TIMEOUT)))
        .isInstanceOf(IOException.class);
  }

  @Test
  @DisplayName("close() fails pending commands, closes the transport and stops the reader thread")
  void closeFailsPending(Vertx vertx) throws Exception {
    FakeQmpTransport qemu = new FakeQmpTransport();
    Qmp qmp = Await.result(QmpClient.connect(vertx, "closing-vm", () -> qemu, TIMEOUT));
    Future<JsonObject> status = qmp.execute("query-status", null, TIMEOUT);
    qemu.nextSent();

    qmp.close();
    qmp.close();

    assertThat(Await.failure(status)).isInstanceOf(IOException.class);
    Await.result(qmp.closed());
    assertThat(qemu.isClosed()).isTrue();
    assertThat(Thread.getAllStackTraces().keySet())
        .noneMatch(t -> t.getName().equals("qmp-closing-vm"));
  }

  @Test
  @DisplayName("events reach the handler on the Vert.x context that connected, in order")
  void eventsOnContext(Vertx vertx, VertxTestContext test) {
    FakeQmpTransport qemu = new FakeQmpTransport();
    Context context = vertx.getOrCreateContext();
    var events = test.checkpoint(2);
    context.runOnContext(
        v ->
            QmpClient.connect(vertx, "vm1", () -> qemu, TIMEOUT)
                .onComplete(
                    test.succeeding(
                        qmp -> {
                          StringBuilder seen = new StringBuilder();
                          qmp.eventHandler(
                              event ->
                                  test.verify(
                                      () -> {
                                        assertThat(Vertx.currentContext()).isSameAs(context);
                                        seen.append(event.getString("event")).append(' ');
                                        assertThat(event.getJsonObject("data")).isNotNull();
                                        if (event.getString("event").equals("RESUME")) {
                                          assertThat(seen.toString()).isEqualTo("STOP RESUME ");
                                          qmp.close();
                                        }
                                        events.flag();
                                      }));
                          qemu.emitEvent("STOP", new JsonObject());
                          qemu.emitEvent("RESUME", new JsonObject());
                        })));
  }

  @Test
  @DisplayName("getfd sends the descriptor with the getfd line and with no other")
  void getfdCarriesTheDescriptor(Vertx vertx) throws Exception {
    FakeQmpTransport qemu =
        new FakeQmpTransport()
            .answerWithReturn("getfd", new JsonObject())
            .answerWithReturn("query-status", new JsonObject());
    Qmp qmp = Await.result(QmpClient.connect(vertx, "vm1", () -> qemu, TIMEOUT));

    Await.result(qmp.getfd("mp0", FileDescriptor.in, TIMEOUT));
    Await.result(qmp.execute("query-status", null, TIMEOUT));

    assertThat(qemu.allSent())
        .extracting(Sent::command, Sent::fd)
        .containsExactly(
            tuple("qmp_capabilities", null),
            tuple("getfd", FileDescriptor.in),
            tuple("query-status", null));
    assertThat(qemu.allSent().get(1).message().getJsonObject("arguments").getString("fdname"))
        .isEqualTo("mp0");
    qmp.close();
  }

  @Test
  @DisplayName("many commands issued at once from several threads all get their own reply")
  void concurrentCommands(Vertx vertx) throws Exception {
    FakeQmpTransport qemu =
        new FakeQmpTransport().answer("echo", msg -> new JsonObject().put("return", msg.getJsonObject("arguments")));
    Qmp qmp = Await.result(QmpClient.connect(vertx, "vm1", () -> qemu, TIMEOUT));

    List<Future<JsonObject>> futures = new ArrayList<>();
    List<Integer> sentN = new ArrayList<>();
    Thread[] threads = new Thread[4];
    for (int t = 0; t < threads.length; t++) {
      int base = t * 100;
      threads[t] =
          new Thread(
              () -> {
                for (int i = 0; i < 50; i++) {
                  synchronized (futures) {
                    futures.add(qmp.execute("echo", new JsonObject().put("n", base + i), TIMEOUT));
                    sentN.add(base + i);
                  }
                }
              });
      threads[t].start();
    }
    for (Thread t : threads) {
      t.join();
    }
    Await.result(Future.all(futures));

    assertThat(futures).hasSize(200);
    for (int i = 0; i < futures.size(); i++) {
      JsonObject echoed = futures.get(i).result();
      assertThat(echoed.getInteger("n")).as("reply to its own command").isEqualTo(sentN.get(i));
    }
    qmp.close();
  }

  @Test
  @DisplayName("connecting fails, and closes the transport, when QEMU sends no greeting in time")
  void connectTimeout(Vertx vertx) {
    FakeQmpTransport silent = new FakeQmpTransport(null);

    Future<Qmp> connected = QmpClient.connect(vertx, "silent", () -> silent, Duration.ofMillis(200));

    assertThat(Await.failure(connected)).isInstanceOf(TimeoutException.class);
    waitUntil(silent::isClosed);
  }

  @Test
  @DisplayName("connecting fails when the first line is not a QMP greeting")
  void notQmp(Vertx vertx) {
    FakeQmpTransport other = new FakeQmpTransport("{\"hello\": 1}");

    Future<Qmp> connected = QmpClient.connect(vertx, "other", () -> other, TIMEOUT);

    assertThat(Await.failure(connected))
        .isInstanceOf(IOException.class)
        .hasMessageContaining("expected a QMP greeting");
    waitUntil(other::isClosed);
  }

  @Test
  @DisplayName("connecting fails when qmp_capabilities is refused")
  void capabilitiesRefused(Vertx vertx) {
    FakeQmpTransport qemu =
        new FakeQmpTransport().answerWithError("qmp_capabilities", "GenericError", "no");

    assertThat(Await.failure(QmpClient.connect(vertx, "vm1", () -> qemu, TIMEOUT)))
        .isInstanceOf(QmpException.class);
    waitUntil(qemu::isClosed);
  }

  @Test
  @DisplayName("connecting fails with the transport factory's own error")
  void factoryFails(Vertx vertx) {
    Future<Qmp> connected =
        QmpClient.connect(
            vertx, "vm1", () -> { throw new IOException("no socket"); }, TIMEOUT);

    assertThat(Await.failure(connected)).isInstanceOf(IOException.class).hasMessage("no socket");
  }

  @Test
  @DisplayName("20 connect and close cycles leave no reader thread behind")
  void noThreadLeft(Vertx vertx) throws Exception {
    for (int i = 0; i < 20; i++) {
      FakeQmpTransport qemu = new FakeQmpTransport();
      Qmp qmp = Await.result(QmpClient.connect(vertx, "cycle", () -> qemu, TIMEOUT));
      qmp.close();
      Await.result(qmp.closed());
      assertThat(qemu.isClosed()).isTrue();
    }
    assertThat(Thread.getAllStackTraces().keySet()).noneMatch(t -> t.getName().startsWith("qmp-cycle"));
  }

  static void waitUntil(BooleanSupplier condition) {
    Await.atMost(Duration.ofSeconds(5)).every(Duration.ofMillis(10)).until(condition, "the condition");
    }
}
